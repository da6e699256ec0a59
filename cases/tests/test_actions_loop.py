"""Closing the loop from a done corrective action: offered only once it is done, the recipients
and the refused shown before sending, the mails sent through the surveys app (ResponseReply rows,
the outbox), once."""

import re
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from cases.models import CorrectiveAction
from cases.services.actions import link_events
from cases.tests.factories import CorrectiveActionFactory
from customers.models import DefectionEvent
from customers.tests.factories import CustomerFactory
from surveys.models import ResponseReply, Suppression
from surveys.suppression import suppress
from surveys.tests.test_inbox_support import make_response, reply_templates

Kind = ResponseReply.Kind


@pytest.fixture(autouse=True)
def _templates(db):
    reply_templates()


def _action_with_respondents(owner, *, done=True):
    """A done action linked to three defections: a respondent who may be mailed, one who asked
    not to be contacted, one whose address is suppressed; and a fourth customer who never answered."""
    action = CorrectiveActionFactory(owner=owner, status="done" if done else "open")
    happy = make_response(customer=CustomerFactory(name="Ada Happy", status="defected"))
    blocked = make_response(customer=CustomerFactory(name="Bob Blocked", status="defected", do_not_contact=True))
    bounced = make_response(customer=CustomerFactory(name="Cy Bounced", status="defected"))
    suppress(bounced.customer.email, Suppression.Reason.HARD_BOUNCE)
    silent = DefectionEvent.objects.create(
        customer=CustomerFactory(name="Dee Silent", status="defected"),
        kind="passive",
        detected_at=happy.invitation.event.detected_at,
        as_of=happy.invitation.event.as_of,
        status_changed_at=happy.invitation.event.detected_at,
        lost_revenue=Decimal("10"),
    )
    ids = [r.invitation.event_id for r in (happy, blocked, bounced)] + [silent.pk]
    link_events(action, DefectionEvent.objects.filter(pk__in=ids))
    return action, happy, blocked, bounced


def _run_key(html: str) -> str:
    return re.search(r'name="run" value="([0-9a-f]+)"', html).group(1)


def test_the_loop_is_not_offered_before_the_action_is_done(manager_client, manager):
    action, *_ = _action_with_respondents(manager, done=False)
    url = reverse("cases:action_loop", args=[action.pk])
    assert manager_client.get(url)["Location"] == reverse("cases:action_detail", args=[action.pk])
    manager_client.post(url, {"kind": Kind.CLOSE_LOOP, "changed": "x", "run": "a" * 32, "send": "1"})
    assert not ResponseReply.objects.exists()
    assert len(mail.outbox) == 0


def test_it_shows_who_will_get_the_mail_and_who_is_refused_and_why(manager_client, manager):
    action, happy, blocked, bounced = _action_with_respondents(manager)
    url = reverse("cases:action_loop", args=[action.pk])
    assert manager_client.get(url).status_code == 200
    answer = manager_client.post(url, {"kind": Kind.CLOSE_LOOP, "changed": "Two more drivers.", "review": "1"})
    html = answer.content.decode()
    plan = answer.context["plan"]
    assert [r.customer.name for r in plan.to_send] == ["Ada Happy"]
    assert {r.customer.name for r, _why in plan.refused} == {"Bob Blocked", "Cy Bounced"}
    assert "The customer asked not to be contacted." in html
    assert "The address is suppressed: Hard bounce." in html or "The address is suppressed" in html
    assert "Dee Silent" not in html
    assert "Send 1 email" in html
    assert not ResponseReply.objects.exists()


def test_confirming_sends_the_close_the_loop_mail_through_the_surveys_app_once(
    manager_client, manager, django_capture_on_commit_callbacks
):
    action, happy, *_ = _action_with_respondents(manager)
    url = reverse("cases:action_loop", args=[action.pk])
    data = {"kind": Kind.CLOSE_LOOP, "changed": "We hired two drivers."}
    run = _run_key(manager_client.post(url, {**data, "review": "1"}).content.decode())
    with django_capture_on_commit_callbacks(execute=True):
        answer = manager_client.post(url, {**data, "run": run, "send": "1"})
    assert answer["Location"] == reverse("cases:action_detail", args=[action.pk])
    reply = ResponseReply.objects.get()
    assert (reply.response, reply.kind, reply.status) == (happy, Kind.CLOSE_LOOP, ResponseReply.Status.SENT)
    assert len(mail.outbox) == 1
    assert happy.customer.email in mail.outbox[0].to[0]
    assert "We hired two drivers." in mail.outbox[0].body
    action.refresh_from_db()
    assert action.loop_closed_at is not None
    with django_capture_on_commit_callbacks(execute=True):
        manager_client.post(url, {**data, "run": run, "send": "1"})  # the confirm button again
    assert ResponseReply.objects.count() == 1
    assert len(mail.outbox) == 1
    again = manager_client.post(url, {**data, "review": "1"})
    assert [r.customer.name for r in again.context["plan"].already] == ["Ada Happy"]


def test_the_invitation_to_return_goes_through_the_surveys_app_with_the_offer(
    manager_client, manager, django_capture_on_commit_callbacks
):
    action, happy, *_ = _action_with_respondents(manager)
    url = reverse("cases:action_loop", args=[action.pk])
    data = {"kind": Kind.RETURN, "offer": "15 % off your next order"}
    run = _run_key(manager_client.post(url, {**data, "review": "1"}).content.decode())
    with django_capture_on_commit_callbacks(execute=True):
        manager_client.post(url, {**data, "run": run, "send": "1"})
    reply = ResponseReply.objects.get()
    assert (reply.kind, reply.offer, reply.response) == (Kind.RETURN, "15 % off your next order", happy)
    assert len(mail.outbox) == 1


def test_the_loop_needs_what_was_changed_or_the_offer(manager_client, manager):
    action, *_ = _action_with_respondents(manager)
    url = reverse("cases:action_loop", args=[action.pk])
    html = manager_client.post(url, {"kind": Kind.CLOSE_LOOP, "changed": " ", "run": "a" * 32, "send": "1"})
    assert "Say what was changed." in html.content.decode()
    html = manager_client.post(url, {"kind": Kind.RETURN, "offer": "", "run": "a" * 32, "send": "1"})
    assert "Describe the offer." in html.content.decode()
    assert not ResponseReply.objects.exists()


@pytest.mark.parametrize(("who", "allowed"), [("other_manager", False), ("executive", False), ("administrator", True)])
def test_only_the_owner_and_administrators_close_the_loop(client, request, manager, who, allowed):
    action, *_ = _action_with_respondents(manager)
    client.force_login(request.getfixturevalue(who))
    url = reverse("cases:action_loop", args=[action.pk])
    assert client.get(url).status_code == (200 if allowed else 403)
    answer = client.post(url, {"kind": Kind.CLOSE_LOOP, "changed": "x", "run": "b" * 32, "send": "1"})
    assert answer.status_code == (302 if allowed else 403)
    assert ResponseReply.objects.exists() is allowed
    assert (CorrectiveAction.objects.get(pk=action.pk).loop_closed_at is not None) is allowed


def test_the_recipients_are_read_in_a_fixed_number_of_queries(manager_client, manager, django_assert_max_num_queries):
    action, *_ = _action_with_respondents(manager)
    for _ in range(8):
        response = make_response()
        link_events(action, DefectionEvent.objects.filter(pk=response.invitation.event_id))
    url = reverse("cases:action_loop", args=[action.pk])
    with django_assert_max_num_queries(10):
        answer = manager_client.post(url, {"kind": Kind.CLOSE_LOOP, "changed": "x", "review": "1"})
    assert len(answer.context["plan"].to_send) == 9
