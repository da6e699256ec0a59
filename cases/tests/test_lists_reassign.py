"""The administrators' bulk reassignment: all or nothing, only to active account managers,
recorded in each case's history, and effective at once for the old and the new owner."""

import pytest
from django.urls import reverse

from cases.models import CaseEvent
from cases.services.assignment import case_reassign, cases_bulk_reassign
from cases.tests.factories import CaseFactory
from winback.tests.factories import UserFactory

REASSIGN = reverse("cases:bulk_reassign")


@pytest.fixture
def two_cases(manager):
    return [CaseFactory(owner=manager), CaseFactory(owner=manager)]


def post(client, cases, owner, **extra):
    data = {"cases": [case.pk for case in cases], "owner": owner.pk if owner else "", "confirm": "on"}
    data.update(extra)
    return client.post(REASSIGN, data, follow=True)


def test_an_administrator_reassigns_the_ticked_cases(admin_client, administrator, manager, other_manager, two_cases):
    response = post(admin_client, two_cases, other_manager, next="/cases/?stage=new")
    assert response.redirect_chain[-1][0] == "/cases/?stage=new"
    assert "2 cases reassigned" in response.content.decode()
    for case in two_cases:
        case.refresh_from_db()
        assert case.owner == other_manager
        event = case.history.get(kind=CaseEvent.Kind.OWNER)
        assert (event.actor, event.before, event.after) == (
            administrator,
            {"owner": manager.pk},
            {"owner": other_manager.pk},
        )


def test_the_new_owner_sees_the_case_at_once_and_the_old_one_gets_a_404(
    client, administrator, manager, other_manager, two_cases
):
    client.force_login(administrator)
    post(client, two_cases[:1], other_manager)
    client.force_login(other_manager)
    assert [c.pk for c in client.get(reverse("cases:queue")).context["page"].object_list] == [two_cases[0].pk]
    client.force_login(manager)
    queue = client.get(reverse("cases:queue")).context["page"].object_list
    assert [c.pk for c in queue] == [two_cases[1].pk]
    move = client.post(reverse("cases:board_move", args=[two_cases[0].pk]), {"stage": "contacting"})
    assert move.status_code == 404
    assert client.get(reverse("cases:detail", args=[two_cases[0].pk])).status_code == 404


def test_cases_do_not_go_to_executives_who_take_theirs_in_the_rescue_cycle(admin_client, executive, two_cases):
    owners = [case.owner_id for case in two_cases]
    response = post(admin_client, two_cases, executive)
    assert response.status_code in (200, 302)
    for case in two_cases:
        case.refresh_from_db()
    assert [case.owner_id for case in two_cases] == owners


@pytest.mark.parametrize("target", ["inactive", "administrator", "no_role", "missing"])
def test_an_invalid_owner_changes_nothing_and_says_so(admin_client, manager, two_cases, target):
    owners = {
        "inactive": lambda: UserFactory(role="Account managers", is_active=False),
        "administrator": lambda: UserFactory(role="Administrators"),
        "no_role": lambda: UserFactory(),
        "missing": lambda: None,
    }
    owner = owners[target]()
    response = post(admin_client, two_cases, owner)
    html = response.content.decode()
    assert "Nothing was reassigned" in html
    for case in two_cases:
        case.refresh_from_db()
        assert case.owner == manager
        assert not case.history.exists()


def test_without_the_confirmation_or_cases_nothing_changes(admin_client, manager, other_manager, two_cases):
    response = admin_client.post(REASSIGN, {"cases": [two_cases[0].pk], "owner": other_manager.pk}, follow=True)
    assert "Tick the confirmation box" in response.content.decode()
    response = post(admin_client, [], other_manager)
    assert "Tick at least one case" in response.content.decode()
    two_cases[0].refresh_from_db()
    assert two_cases[0].owner == manager


def test_a_missing_case_id_makes_the_whole_reassignment_fail(admin_client, manager, other_manager, two_cases):
    response = admin_client.post(
        REASSIGN, {"cases": [two_cases[0].pk, 999999], "owner": other_manager.pk, "confirm": "on"}, follow=True
    )
    assert "Nothing was reassigned" in response.content.decode()
    two_cases[0].refresh_from_db()
    assert two_cases[0].owner == manager


def test_an_address_elsewhere_is_not_followed_after_reassigning(admin_client, other_manager, two_cases):
    response = post(admin_client, two_cases, other_manager, next="https://evil.test/")
    assert response.redirect_chain[-1][0] == reverse("cases:queue")


@pytest.mark.parametrize("role_user", ["manager", "executive"], indirect=True)
def test_managers_and_executives_may_not_reassign(client, role_user, other_manager, db):
    case = CaseFactory(owner=role_user if role_user.username == "manager" else None)
    original = case.owner
    client.force_login(role_user)
    response = client.post(REASSIGN, {"cases": [case.pk], "owner": other_manager.pk, "confirm": "on"})
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.owner == original
    assert not case.history.exists()


def test_anonymous_visitors_are_sent_to_sign_in(client, two_cases, other_manager):
    response = client.post(REASSIGN, {"cases": [two_cases[0].pk], "owner": other_manager.pk, "confirm": "on"})
    assert response["Location"].startswith("/accounts/login/")


def test_a_get_is_not_allowed(admin_client):
    assert admin_client.get(REASSIGN).status_code == 405


def test_the_reassignment_has_a_bounded_number_of_queries(
    admin_client, manager, other_manager, django_assert_max_num_queries
):
    cases = [CaseFactory(owner=manager) for _ in range(30)]
    # Each case is one UPDATE and one history row; the rest is fixed.
    with django_assert_max_num_queries(2 * len(cases) + 12):
        response = admin_client.post(
            REASSIGN, {"cases": [c.pk for c in cases], "owner": other_manager.pk, "confirm": "on"}
        )
    assert response.status_code == 302


def test_cases_already_with_the_new_owner_are_left_alone(manager, administrator, two_cases):
    assert cases_bulk_reassign(case_ids=[c.pk for c in two_cases], owner=manager, actor=administrator) == 0
    assert not two_cases[0].history.exists()


def test_reassigning_one_case_records_the_change(manager, other_manager, administrator, two_cases):
    case = case_reassign(case=two_cases[0], owner=other_manager, actor=administrator)
    assert case.owner == other_manager
    assert case.history.get().summary.startswith("Reassigned from")
