"""My queue and the pool: who sees which rows, the priority order, filters, search, pagination,
taking a case from the pool, and the query budget."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import Case, CaseEvent, Stage
from cases.tests.factories import CaseFactory
from customers.models import Reason
from customers.tests.factories import CustomerFactory, SegmentFactory
from winback.tests.factories import UserFactory

QUEUE = reverse("cases:queue")
POOL = reverse("cases:pool")


def make_case(owner, value, *, overdue=False, **kwargs):
    case = CaseFactory(owner=owner, value_at_stake=Decimal(value), **kwargs)
    if overdue:
        Case.objects.filter(pk=case.pk).update(deadline_at=timezone.now() - dt.timedelta(hours=3))
        case.refresh_from_db()
    return case


def rows(response) -> list[int]:
    return [case.pk for case in response.context["page"].object_list]


@pytest.fixture
def cases(manager, other_manager):
    """Mine, followed by me, another manager's, and the pool."""
    return {
        "mine": make_case(manager, "500"),
        "followed": make_case(other_manager, "700", followers=[manager]),
        "other": make_case(other_manager, "900"),
        "pool": make_case(None, "800"),
    }


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    for url in (QUEUE, POOL):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_a_user_without_a_role_is_refused(client, db):
    client.force_login(UserFactory(username="nobody"))
    assert client.get(QUEUE).status_code == 403
    assert client.get(POOL).status_code == 403


def test_a_manager_queue_holds_the_cases_they_own_or_follow(manager_client, cases):
    response = manager_client.get(QUEUE)
    assert response.status_code == 200
    assert set(rows(response)) == {cases["mine"].pk, cases["followed"].pk}
    assert cases["other"].customer.name not in response.content.decode()


def test_a_manager_pool_holds_the_unassigned_cases_with_a_take_button(manager_client, cases):
    response = manager_client.get(POOL)
    assert rows(response) == [cases["pool"].pk]
    assert reverse("cases:take", args=[cases["pool"].pk]) in response.content.decode()


@pytest.mark.parametrize("role_user", ["executive", "administrator"], indirect=True)
def test_executives_and_administrators_see_every_open_case(client, role_user, cases):
    closed = make_case(None, "999", stage=Stage.LOST, is_open=False)
    client.force_login(role_user)
    response = client.get(QUEUE)
    assert set(rows(response)) == {case.pk for case in cases.values()}
    assert closed.pk not in rows(response)


def test_a_manager_owner_filter_never_shows_another_managers_cases(manager_client, other_manager, cases):
    for owner in (str(other_manager.pk), "none", "me"):
        response = manager_client.get(QUEUE, {"owner": owner})
        assert set(rows(response)) == {cases["mine"].pk, cases["followed"].pk}
        response = manager_client.get(POOL, {"owner": owner})
        assert rows(response) == [cases["pool"].pk]


def test_an_administrator_filters_by_owner_and_the_pool(admin_client, other_manager, cases):
    response = admin_client.get(QUEUE, {"owner": other_manager.pk})
    assert set(rows(response)) == {cases["followed"].pk, cases["other"].pk}
    assert rows(admin_client.get(QUEUE, {"owner": "none"})) == [cases["pool"].pk]


def test_an_executive_filters_the_cases_taken_by_them(executive_client, executive, cases):
    taken = make_case(executive, "100", rescued_by=executive)
    assert rows(executive_client.get(QUEUE, {"owner": "me"})) == [taken.pk]


def test_the_queue_puts_overdue_cases_first_then_the_most_revenue(manager_client, manager):
    small_overdue = make_case(manager, "100", overdue=True)
    big_overdue = make_case(manager, "300", overdue=True)
    biggest = make_case(manager, "5000")
    middle = make_case(manager, "400")
    tie_a = make_case(manager, "400")
    response = manager_client.get(QUEUE)
    assert rows(response) == [big_overdue.pk, small_overdue.pk, biggest.pk, middle.pk, tie_a.pk]
    html = response.content.decode()
    assert html.count("Overdue</span>") == 2
    assert "text-danger" in html


def test_the_queue_pages_over_overdue_and_other_cases_in_order(manager_client, manager, django_assert_max_num_queries):
    overdue = [make_case(manager, str(1000 + n), overdue=True) for n in range(30)]
    others = [make_case(manager, str(5000 + n)) for n in range(30)]
    expected = [c.pk for c in sorted(overdue, key=lambda c: -c.value_at_stake)]
    expected += [c.pk for c in sorted(others, key=lambda c: -c.value_at_stake)]
    seen = []
    for number in (1, 2, 3):
        with django_assert_max_num_queries(12):
            response = manager_client.get(QUEUE, {"page": number})
        seen += rows(response)
    assert seen == expected
    page = response.context["page"]
    assert page.paginator.count == 60
    assert page.paginator.num_pages == 3


@pytest.mark.parametrize("role_user", ["manager", "executive", "administrator"], indirect=True)
def test_the_queue_has_a_fixed_number_of_queries(client, role_user, manager, django_assert_max_num_queries):
    owner = manager if role_user == manager else UserFactory(role="Account managers")
    for n in range(32):
        make_case(owner, str(100 + n), overdue=n % 3 == 0, followers=[UserFactory(role="Account managers")])
    client.force_login(role_user)
    with django_assert_max_num_queries(12):
        response = client.get(QUEUE)
    assert len(rows(response)) == 25


def test_filters_by_stage_segment_reason_and_overdue(manager_client, manager):
    wholesale = SegmentFactory(name="Wholesale")
    contacting = make_case(manager, "100", stage=Stage.CONTACTING)
    in_wholesale = make_case(manager, "200", customer=CustomerFactory(segment=wholesale, account_manager=manager))
    priced = make_case(manager, "300", primary_reason=Reason.PRICE)
    late = make_case(manager, "50", overdue=True)
    assert rows(manager_client.get(QUEUE, {"stage": "contacting"})) == [contacting.pk]
    assert rows(manager_client.get(QUEUE, {"segment": wholesale.pk})) == [in_wholesale.pk]
    assert rows(manager_client.get(QUEUE, {"reason": Reason.PRICE})) == [priced.pk]
    assert rows(manager_client.get(QUEUE, {"overdue": "yes"})) == [late.pk]
    assert len(rows(manager_client.get(QUEUE, {"stage": "nonsense", "segment": "x"}))) == 4


def test_search_finds_by_name_prefix_external_id_and_email(manager_client, manager):
    anna = make_case(manager, "100", customer=CustomerFactory(name="Annabel Lee", account_manager=manager))
    other = make_case(manager, "200", customer=CustomerFactory(name="Bruno Ortiz", account_manager=manager))
    assert rows(manager_client.get(QUEUE, {"q": "Annab"})) == [anna.pk]
    assert rows(manager_client.get(QUEUE, {"q": "annab"})) == [anna.pk]
    assert rows(manager_client.get(QUEUE, {"q": other.customer.external_id})) == [other.pk]
    assert rows(manager_client.get(QUEUE, {"q": other.customer.email})) == [other.pk]
    response = manager_client.get(QUEUE, {"q": "Zelda"})
    assert rows(response) == []
    assert "No cases match these filters." in response.content.decode()


def test_search_never_finds_another_managers_case(manager_client, other_manager):
    hidden = make_case(other_manager, "100", customer=CustomerFactory(name="Secret Sam", account_manager=other_manager))
    assert rows(manager_client.get(QUEUE, {"q": "Secret"})) == []
    assert rows(manager_client.get(QUEUE, {"q": hidden.customer.external_id})) == []


def test_the_empty_queue_says_what_to_do(manager_client):
    html = manager_client.get(QUEUE).content.decode()
    assert "You have no open cases." in html
    assert reverse("cases:pool") in html


def test_export_links_keep_the_filters(manager_client, manager):
    make_case(manager, "100")
    html = manager_client.get(QUEUE, {"stage": "new", "q": "x y"}).content.decode()
    assert reverse("cases:export", args=["csv"]) + "?stage=new&amp;q=x+y" in html
    assert reverse("cases:export", args=["xlsx"]) + "?stage=new&amp;q=x+y" in html


def test_only_administrators_get_the_bulk_reassignment_form(client, manager, executive, administrator):
    make_case(manager, "100")
    for user in (manager, executive):
        client.force_login(user)
        assert "bulk-reassign" not in client.get(QUEUE).content.decode()
    client.force_login(administrator)
    assert 'id="bulk-reassign"' in client.get(QUEUE).content.decode()


# --- taking from the pool ----------------------------------------------------------------------


def test_a_manager_takes_a_case_from_the_pool(manager_client, manager):
    case = make_case(None, "800")
    response = manager_client.post(reverse("cases:take", args=[case.pk]))
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.owner == manager
    event = case.history.get(kind=CaseEvent.Kind.OWNER)
    assert event.actor == manager
    assert event.after == {"owner": manager.pk}
    assert case.pk in rows(manager_client.get(QUEUE))


def test_a_second_taker_is_told_the_case_is_already_taken(client, manager, other_manager):
    case = make_case(None, "800")
    client.force_login(other_manager)
    client.post(reverse("cases:take", args=[case.pk]))
    client.force_login(manager)
    response = client.post(reverse("cases:take", args=[case.pk]), follow=True)
    assert "already taken" in response.content.decode()
    case.refresh_from_db()
    assert case.owner == other_manager
    assert case.history.filter(kind=CaseEvent.Kind.OWNER).count() == 1


def test_the_take_update_claims_only_an_unowned_case(manager, other_manager):
    from django.core.exceptions import ValidationError

    from cases.services.assignment import case_take

    case = make_case(None, "800")
    case_take(case_id=case.pk, actor=other_manager)
    with pytest.raises(ValidationError):
        case_take(case_id=case.pk, actor=manager)
    case.refresh_from_db()
    assert case.owner == other_manager


def test_a_manager_cannot_take_another_managers_case_by_guessing_its_id(manager_client, other_manager):
    case = make_case(other_manager, "800")
    assert manager_client.post(reverse("cases:take", args=[case.pk])).status_code == 404
    assert manager_client.post(reverse("cases:take", args=[999999])).status_code == 404
    case.refresh_from_db()
    assert case.owner == other_manager
    assert not case.history.exists()


@pytest.mark.parametrize("role_user", ["executive", "administrator"], indirect=True)
def test_executives_and_administrators_do_not_take_from_the_pool(client, role_user):
    case = make_case(None, "800")
    client.force_login(role_user)
    assert client.post(reverse("cases:take", args=[case.pk])).status_code == 403
    case.refresh_from_db()
    assert case.owner is None


def test_taking_needs_a_post_and_a_sign_in(client, manager_client, db):
    case = make_case(None, "800")
    assert manager_client.get(reverse("cases:take", args=[case.pk])).status_code == 405
    manager_client.logout()
    response = client.post(reverse("cases:take", args=[case.pk]))
    assert response["Location"].startswith("/accounts/login/")
    case.refresh_from_db()
    assert case.owner is None
