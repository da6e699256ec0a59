"""Corrective actions: the list ranked by the lost revenue behind each, its filters, creating an
action from a reason, a case or a survey answer, the page and editing, for every role."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import CorrectiveAction
from cases.services.actions import link_events
from cases.tests.factories import CaseFactory, CorrectiveActionFactory
from customers.models import DefectionEvent, Reason
from surveys.tests.factories import AnswerFactory, DefectionEventFactory, ResponseFactory
from winback.tests.factories import UserFactory

TODAY = dt.date.today


def _form(**changes) -> dict:
    data = {
        "title": "Faster delivery",
        "description": "Second courier",
        "reason": Reason.DELIVERY,
        "owner": "",
        "department": "Logistics",
        "deadline": (timezone.localdate() + dt.timedelta(days=10)).isoformat(),
        "status": CorrectiveAction.Status.OPEN,
    }
    return {**data, **changes}


def _linked(action, *amounts):
    events = [DefectionEventFactory(lost_revenue=Decimal(amount), primary_reason=action.reason) for amount in amounts]
    link_events(action, DefectionEvent.objects.filter(pk__in=[e.pk for e in events]))
    return events


# The list ----------------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    action = CorrectiveActionFactory()
    urls = [
        reverse("cases:actions"),
        reverse("cases:action_new"),
        reverse("cases:action_detail", args=[action.pk]),
        reverse("cases:action_edit", args=[action.pk]),
        reverse("cases:action_loop", args=[action.pk]),
        reverse("cases:actions_export", args=["csv"]),
    ]
    for url in urls:
        for method in (client.get, client.post):
            answer = method(url)
            assert answer.status_code in (302, 405)  # 405: a POST to a page that is only read
            if answer.status_code == 302:
                assert answer["Location"].startswith("/accounts/login/")
    assert client.get(reverse("cases:actions")).status_code == 302
    assert CorrectiveAction.objects.count() == 1


@pytest.mark.parametrize("role_user", ["manager", "executive", "administrator"], indirect=True)
def test_every_role_sees_the_list_ranked_by_the_lost_revenue_behind_each_action(client, role_user):
    small, big, middle = CorrectiveActionFactory(), CorrectiveActionFactory(), CorrectiveActionFactory()
    small_events = _linked(small, "100", "50.50")
    big_events = _linked(big, "3000", "2000", "1000")
    middle_events = _linked(middle, "900")
    expected = {
        small.pk: sum(e.lost_revenue for e in small_events),
        big.pk: sum(e.lost_revenue for e in big_events),
        middle.pk: sum(e.lost_revenue for e in middle_events),
    }
    client.force_login(role_user)
    html = client.get(reverse("cases:actions")).content.decode()
    positions = [html.index(action.title) for action in (big, middle, small)]
    assert positions == sorted(positions)
    for action in (small, big, middle):
        action.refresh_from_db()
        assert action.lost_revenue == expected[action.pk]
    assert "6,000.00" in html
    assert "150.50" in html


def test_linking_an_event_twice_counts_it_once(db):
    action = CorrectiveActionFactory()
    events = _linked(action, "700")
    link_events(action, DefectionEvent.objects.filter(pk=events[0].pk))
    action.refresh_from_db()
    assert action.lost_revenue == Decimal("700")
    assert action.events.count() == 1


def test_the_list_filters_by_status_reason_owner_and_overdue_deadline(manager_client, manager):
    mine = CorrectiveActionFactory(owner=manager, title="Mine")
    price = CorrectiveActionFactory(reason=Reason.PRICE, title="Price fix")
    done = CorrectiveActionFactory(status=CorrectiveAction.Status.DONE, title="Finished one")
    late = CorrectiveActionFactory(title="Late one")
    CorrectiveAction.objects.filter(pk=late.pk).update(deadline=timezone.localdate() - dt.timedelta(days=3))
    url = reverse("cases:actions")

    def titles(**params):
        html = manager_client.get(url, params).content.decode()
        return {a.title for a in (mine, price, done, late) if a.title in html}

    assert titles(status="done") == {"Finished one"}
    assert titles(reason="price") == {"Price fix"}
    assert titles(owner=manager.pk) == {"Mine"}
    assert titles(overdue="on") == {"Late one"}


def test_an_overdue_deadline_is_red_with_a_word(manager_client):
    late = CorrectiveActionFactory()
    CorrectiveAction.objects.filter(pk=late.pk).update(deadline=timezone.localdate() - dt.timedelta(days=1))
    html = manager_client.get(reverse("cases:actions")).content.decode()
    assert 'class="text-danger"><span class="badge text-bg-danger">Overdue</span>' in html
    detail = manager_client.get(reverse("cases:action_detail", args=[late.pk])).content.decode()
    assert "Overdue" in detail


def test_the_list_pages_and_runs_a_fixed_number_of_queries(manager_client, django_assert_max_num_queries):
    for _ in range(60):
        CorrectiveActionFactory()
    with django_assert_max_num_queries(8):
        answer = manager_client.get(reverse("cases:actions"))
    assert answer.status_code == 200
    assert answer.context["page"].paginator.num_pages == 2
    assert len(answer.context["page"].object_list) == 50


# Creating ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role_user", "allowed"), [("manager", True), ("executive", False), ("administrator", True)], indirect=["role_user"]
)
def test_managers_and_administrators_create_actions_executives_may_not(client, role_user, allowed):
    client.force_login(role_user)
    url = reverse("cases:action_new")
    assert client.get(url).status_code == (200 if allowed else 403)
    answer = client.post(url, _form(owner=role_user.pk))
    assert answer.status_code == (302 if allowed else 403)
    assert CorrectiveAction.objects.count() == (1 if allowed else 0)
    if allowed:
        action = CorrectiveAction.objects.get()
        assert (action.title, action.owner, action.created_by) == ("Faster delivery", role_user, role_user)


def test_it_refuses_a_deadline_in_the_past_and_a_missing_title(manager_client):
    answer = manager_client.post(
        reverse("cases:action_new"), _form(title="", deadline=(timezone.localdate() - dt.timedelta(days=1)).isoformat())
    )
    assert answer.status_code == 200
    html = answer.content.decode()
    assert "The deadline cannot be in the past." in html
    assert "Give the action a title." in html
    assert not CorrectiveAction.objects.exists()


def test_an_action_from_a_case_links_its_defection_and_takes_its_reason(manager_client, manager):
    case = CaseFactory(owner=manager, primary_reason=Reason.PRICE, event__lost_revenue=Decimal("4321"))
    url = reverse("cases:action_new") + f"?case={case.pk}"
    page = manager_client.get(url)
    assert page.context["form"].initial["reason"] == Reason.PRICE
    answer = manager_client.post(url, _form(reason=Reason.PRICE))
    action = CorrectiveAction.objects.get()
    assert answer["Location"] == reverse("cases:action_detail", args=[action.pk])
    assert action.source_case == case
    assert list(action.events.all()) == [case.event]
    assert action.lost_revenue == Decimal("4321")


def test_an_action_from_another_managers_case_is_a_404(manager_client):
    case = CaseFactory()  # owned by someone else
    url = reverse("cases:action_new") + f"?case={case.pk}"
    assert manager_client.get(url).status_code == 404
    assert manager_client.post(url, _form()).status_code == 404
    assert not CorrectiveAction.objects.exists()


def test_an_action_from_a_survey_answer_links_the_respondents_defection(manager_client):
    event = DefectionEventFactory(lost_revenue=Decimal("999"))
    answer = AnswerFactory(response=ResponseFactory(invitation__event=event, stated_reason=Reason.BILLING))
    url = reverse("cases:action_new") + f"?answer={answer.pk}"
    assert manager_client.get(url).context["form"].initial["reason"] == Reason.BILLING
    manager_client.post(url, _form(reason=Reason.BILLING))
    action = CorrectiveAction.objects.get()
    assert action.source_answer == answer
    assert list(action.events.all()) == [event]
    assert action.lost_revenue == Decimal("999")


def test_an_action_from_a_reason_can_link_every_open_or_recent_defection_citing_it(manager_client):
    today = timezone.localdate()
    open_one = DefectionEventFactory(primary_reason=Reason.DELIVERY, lost_revenue=Decimal("100"))
    recent_closed = DefectionEventFactory(
        primary_reason=Reason.DELIVERY, status="closed", as_of=today - dt.timedelta(days=20), lost_revenue=Decimal("40")
    )
    DefectionEventFactory(
        primary_reason=Reason.DELIVERY, status="closed", as_of=today - dt.timedelta(days=400), lost_revenue=Decimal("7")
    )
    DefectionEventFactory(primary_reason=Reason.PRICE, lost_revenue=Decimal("5000"))
    url = reverse("cases:action_new") + "?reason=delivery"
    assert manager_client.get(url).context["form"].initial["reason"] == Reason.DELIVERY
    manager_client.post(url, _form(link_recent="on"))
    action = CorrectiveAction.objects.get()
    assert set(action.events.all()) == {open_one, recent_closed}
    assert action.lost_revenue == open_one.lost_revenue + recent_closed.lost_revenue


# The page and editing ----------------------------------------------------------------------------


@pytest.mark.parametrize("role_user", ["manager", "executive", "administrator"], indirect=True)
def test_every_role_sees_an_actions_page_with_its_linked_defections(client, role_user, django_assert_max_num_queries):
    action = CorrectiveActionFactory()
    events = _linked(action, *["10"] * 30)
    client.force_login(role_user)
    with django_assert_max_num_queries(9):
        answer = client.get(reverse("cases:action_detail", args=[action.pk]))
    assert answer.status_code == 200
    assert len(answer.context["page"].object_list) == 25
    assert answer.context["page"].paginator.count == len(events)
    shown = answer.context["page"].object_list[0]
    assert reverse("customers:detail", args=[shown.customer_id]) in answer.content.decode()
    assert "300.00" in answer.content.decode()


def test_an_action_that_does_not_exist_is_a_404(manager_client):
    assert manager_client.get(reverse("cases:action_detail", args=[999999])).status_code == 404
    assert manager_client.get(reverse("cases:action_edit", args=[999999])).status_code == 404


@pytest.mark.parametrize(
    ("who", "allowed"),
    [("owner", True), ("other_manager", False), ("executive", False), ("administrator", True)],
)
def test_the_owner_and_administrators_edit_an_action(client, request, manager, who, allowed):
    action = CorrectiveActionFactory(owner=manager)
    user = manager if who == "owner" else request.getfixturevalue(who)
    client.force_login(user)
    url = reverse("cases:action_edit", args=[action.pk])
    assert client.get(url).status_code == (200 if allowed else 403)
    answer = client.post(url, _form(title="Renamed", owner=manager.pk))
    assert answer.status_code == (302 if allowed else 403)
    action.refresh_from_db()
    assert (action.title == "Renamed") is allowed


def test_marking_an_action_done_stamps_it_and_offers_to_close_the_loop(manager_client, manager):
    action = CorrectiveActionFactory(owner=manager)
    page = manager_client.get(reverse("cases:action_detail", args=[action.pk])).content.decode()
    assert reverse("cases:action_loop", args=[action.pk]) not in page
    manager_client.post(
        reverse("cases:action_edit", args=[action.pk]),
        _form(owner=manager.pk, status="done", deadline=action.deadline.isoformat()),
    )
    action.refresh_from_db()
    assert action.status == "done"
    assert action.done_at is not None
    page = manager_client.get(reverse("cases:action_detail", args=[action.pk])).content.decode()
    assert reverse("cases:action_loop", args=[action.pk]) in page


def test_an_edit_keeps_a_deadline_that_has_passed_since(manager_client, manager):
    action = CorrectiveActionFactory(owner=manager)
    past = timezone.localdate() - dt.timedelta(days=5)
    CorrectiveAction.objects.filter(pk=action.pk).update(deadline=past)
    answer = manager_client.post(
        reverse("cases:action_edit", args=[action.pk]), _form(owner=manager.pk, deadline=past.isoformat(), title="Kept")
    )
    assert answer.status_code == 302
    action.refresh_from_db()
    assert action.title == "Kept"


def test_the_owner_list_offers_only_active_staff(manager_client):
    gone = UserFactory(role="Account managers", is_active=False)
    answer = manager_client.post(reverse("cases:action_new"), _form(owner=gone.pk))
    assert answer.status_code == 200
    assert "Select a valid choice" in answer.content.decode()
    assert not CorrectiveAction.objects.exists()
