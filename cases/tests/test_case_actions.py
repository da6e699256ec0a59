"""The case page's actions: the permission matrix for every action (GET page and POST), guessed
ids, validation errors that change nothing, protected fields (AUTHZ-04) and query budgets."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import Activity, Case, CaseEvent, Offer, Stage, Task
from cases.services import case_email
from cases.tests.factories import CaseFactory, OfferFactory, TaskFactory
from cases.tests.test_case_support import (
    ROLES,
    assert_login_redirect,
    case_and_user,
    client_for,
    expected_status,
)
from customers.tests.factories import CustomerFactory
from winback.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

IN_A_WEEK = (timezone.localdate() + dt.timedelta(days=7)).isoformat()


def _state(case) -> tuple:
    """Everything an action could change on a case."""
    case = Case.objects.get(pk=case.pk)
    return (
        case.stage,
        case.owner_id,
        case.primary_reason,
        case.fault,
        sorted(case.followers.values_list("pk", flat=True)),
        CaseEvent.objects.filter(case=case).count(),
        Activity.objects.filter(case=case).count(),
        list(Offer.objects.filter(case=case).values_list("status", flat=True)),
        list(Task.objects.filter(case=case).values_list("done_at", flat=True)),
    )


def _action(name: str, case):
    """(url, valid POST data) of one action on the case."""
    if name == "offer_decide":
        return reverse("cases:offer_decide", args=[OfferFactory(case=case).pk]), {"decision": "accepted"}
    if name == "task_done":
        return reverse("cases:task_done", args=[TaskFactory(case=case).pk]), {}
    data = {
        "log": {"kind": "call", "apologised": "on", "notes": "Talked"},
        "email": {"subject": "Hello", "body": "Dear you", "message_id": case_email.new_message_id()},
        "offer_new": {"kind": "credit", "value": "50", "cost": "40", "expires_on": IN_A_WEEK},
        "task_new": {"title": "Call back", "assignee": case.owner_id, "due_on": IN_A_WEEK},
        "move": {"stage": "contacting"},
        "reason": {"reason": "price", "fault": "ours"},
        "reassign": {"owner": UserFactory(role="Account managers").pk},
    }[name]
    return reverse(f"cases:{name}", args=[case.pk]), data


WORK_ACTIONS = ["log", "email", "offer_new", "task_new", "move", "reason", "offer_decide", "task_done"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", [*WORK_ACTIONS, "reassign"])
def test_each_action_is_allowed_to_exactly_the_roles_that_may_work_the_case(client, role, action):
    case, user = case_and_user(role)
    url, data = _action(action, case)
    allowed = {"administrator"} if action == "reassign" else None
    expect = {"ok": 200, **({"allowed": allowed} if allowed else {})}
    client = client_for(client, user)

    page = client.get(url)
    if role == "anonymous":
        assert_login_redirect(page)
    else:
        assert page.status_code == expected_status(role, **expect)

    before = _state(case)
    answer = client.post(url, data)
    if role == "anonymous":
        assert_login_redirect(answer)
        assert _state(case) == before
        return
    status = expected_status(role, **{**expect, "ok": 302})
    assert answer.status_code == status
    if status == 302:
        assert answer["Location"] == reverse("cases:detail", args=[case.pk])
        assert _state(case) != before
    else:
        assert _state(case) == before


@pytest.mark.parametrize("action", [*WORK_ACTIONS, "reassign"])
def test_guessed_ids_get_a_404_and_change_nothing(client, action):
    case = CaseFactory()
    intruder = UserFactory(role="Account managers")
    url, data = _action(action, case)
    before = _state(case)
    client.force_login(intruder)
    assert client.get(url).status_code == 404
    assert client.post(url, data).status_code == 404
    assert _state(case) == before
    missing = re.sub(r"/\d+/", "/999999/", url, count=1)
    assert client.post(missing, data).status_code == 404


def test_the_assignee_completes_a_task_on_a_case_they_cannot_otherwise_work(client):
    case = CaseFactory()
    helper = UserFactory(role="Account managers")
    task = TaskFactory(case=case, assignee=helper)
    client.force_login(helper)
    assert client.post(reverse("cases:task_done", args=[task.pk])).status_code == 302
    task.refresh_from_db()
    assert task.done_at is not None
    assert task.done_by == helper


@pytest.mark.parametrize(
    ("action", "data", "field"),
    [
        ("log", {"kind": "call", "diagnosed": "on"}, "reason"),
        ("log", {"kind": "fax"}, "kind"),
        ("offer_new", {"kind": "discount", "value": "150", "cost": "10", "expires_on": IN_A_WEEK}, "value"),
        ("offer_new", {"kind": "discount", "value": "0", "cost": "10", "expires_on": IN_A_WEEK}, "value"),
        ("offer_new", {"kind": "credit", "value": "20", "cost": "-1", "expires_on": IN_A_WEEK}, "cost"),
        ("offer_new", {"kind": "credit", "value": "20", "cost": "1", "expires_on": "2001-01-01"}, "expires_on"),
        ("task_new", {"title": "", "due_on": IN_A_WEEK}, "title"),
        ("task_new", {"title": "x", "due_on": "2001-01-01"}, "due_on"),
        ("move", {"stage": "lost"}, "note"),
        ("move", {"stage": "new"}, "stage"),
        ("move", {"stage": "diagnosed"}, "reason"),
        ("move", {"stage": "offer_made"}, "stage"),
        ("reason", {"reason": "nonsense", "fault": "ours"}, "reason"),
        ("email", {"subject": "", "body": "x", "message_id": "<a@b>"}, "subject"),
    ],
)
def test_invalid_input_is_shown_on_the_form_and_changes_nothing(client, action, data, field):
    case = CaseFactory()
    before = _state(case)
    client.force_login(case.owner)
    response = client.post(reverse(f"cases:{action}", args=[case.pk]), data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert _state(case) == before


def test_a_task_for_someone_outside_the_case_is_refused(client):
    case = CaseFactory()
    executive = UserFactory(role="Executives")
    client.force_login(case.owner)
    response = client.post(
        reverse("cases:task_new", args=[case.pk]), {"title": "x", "assignee": executive.pk, "due_on": IN_A_WEEK}
    )
    assert "assignee" in response.context["form"].errors
    assert not Task.objects.filter(case=case).exists()


@pytest.mark.parametrize("action", ["log", "offer_new", "task_new", "move", "reason"])
def test_extra_protected_fields_in_a_post_are_ignored(client, action):
    case = CaseFactory()
    other_customer = CustomerFactory()
    stranger = UserFactory(role="Account managers")
    url, data = _action(action, case)
    hostile = {
        **data,
        "owner": stranger.pk,
        "owner_id": stranger.pk,
        "outcome": "won",
        "stage": data.get("stage", Stage.WON_BACK),
        "created_by": stranger.pk,
        "created_at": "2001-01-01T00:00:00Z",
        "customer_id": other_customer.pk,
        "customer": other_customer.pk,
        "won_back_at": "2001-01-01T00:00:00Z",
    }
    client.force_login(case.owner)
    assert client.post(url, hostile).status_code == 302
    case.refresh_from_db()
    assert case.owner_id != stranger.pk
    assert case.customer_id != other_customer.pk
    assert case.won_back_at is None
    assert case.stage in (Stage.NEW, Stage.CONTACTING, Stage.OFFER_MADE)
    for model in (Activity, Offer, Task):
        row = model.objects.filter(case=case).first()
        if row is not None and hasattr(row, "created_by_id"):
            assert row.created_by_id == case.owner_id
        if row is not None and hasattr(row, "created_at"):
            assert row.created_at.year != 2001
    assert not CaseEvent.objects.filter(case__customer=other_customer).exists()
    print(f"AUTHZ-04 ({action}): protected fields changed=0")


def test_reassigning_away_takes_effect_at_once(client, administrator):
    case = CaseFactory()
    previous = case.owner
    successor = UserFactory(role="Account managers")
    client.force_login(previous)
    assert client.get(reverse("cases:detail", args=[case.pk])).status_code == 200
    client.force_login(administrator)
    client.post(reverse("cases:reassign", args=[case.pk]), {"owner": successor.pk})
    client.force_login(previous)
    assert client.get(reverse("cases:detail", args=[case.pk])).status_code == 404
    assert client.post(reverse("cases:log", args=[case.pk]), {"kind": "call"}).status_code == 404


def test_a_previous_owner_kept_as_follower_keeps_access(client, administrator):
    case = CaseFactory()
    previous = case.owner
    successor = UserFactory(role="Account managers")
    client.force_login(administrator)
    client.post(reverse("cases:reassign", args=[case.pk]), {"owner": successor.pk, "followers": [previous.pk]})
    case.refresh_from_db()
    assert case.owner == successor
    client.force_login(previous)
    assert client.get(reverse("cases:detail", args=[case.pk])).status_code == 200


@pytest.mark.parametrize(
    ("role", "status"),
    [("anonymous", 302), ("manager", 302), ("executive", 403), ("administrator", 302)],
)
def test_opening_a_case_from_the_customer_card(client, request, role, status):
    customer = CustomerFactory(status="defected")
    user = None if role == "anonymous" else request.getfixturevalue(role)
    if user is not None:
        customer.account_manager = user if role == "manager" else None
        customer.save(update_fields=["account_manager"])
        client.force_login(user)
    url = reverse("cases:open_for_customer", args=[customer.pk])
    assert client.get(url).status_code == 405  # a POST from the card only
    response = client.post(url)
    assert response.status_code == status
    opened = Case.objects.filter(customer=customer, is_open=True).first()
    if role in ("anonymous", "executive"):
        assert opened is None
        return
    assert opened is not None
    if role == "manager":
        assert response["Location"] == reverse("cases:detail", args=[opened.pk])
    # A second opening is refused with a message, back on the customer card.
    again = client.post(url, follow=True)
    assert again.redirect_chain[-1][0] == reverse("customers:detail", args=[customer.pk])
    assert "already has an open case" in again.content.decode()
    assert Case.objects.filter(customer=customer).count() == 1


@pytest.mark.parametrize("action", ["log", "email", "offer_new", "task_new", "move", "reason", "reassign"])
def test_each_action_page_makes_a_fixed_number_of_queries(client, administrator, django_assert_max_num_queries, action):
    case = CaseFactory(followers=[UserFactory(role="Account managers") for _ in range(5)])
    for _ in range(5):
        UserFactory(role="Account managers")
    client.force_login(administrator)
    with django_assert_max_num_queries(12):
        assert client.get(reverse(f"cases:{action}", args=[case.pk])).status_code == 200
