"""The reviewer's actions: mark a response reviewed; confirm or change the defection's primary
reason and fault, which updates the event and keeps the history."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from customers.models import DefectionEvent, Fault, Reason, ReasonChange
from surveys.models import Response
from surveys.services.review import response_mark_reviewed, response_set_reason
from surveys.tests.test_inbox_support import designate_reviewer, make_response
from winback.tests.factories import UserFactory


def _reviewed_url(response) -> str:
    return reverse("surveys:response_mark_reviewed", args=[response.pk])


def _reason_url(response) -> str:
    return reverse("surveys:response_set_reason", args=[response.pk])


def test_anonymous_visitors_cannot_review(client, db):
    response = make_response()
    for url in (_reviewed_url(response), _reason_url(response)):
        answer = client.post(url, {"reason": "price", "fault": "ours"})
        assert answer.status_code == 302
        assert answer["Location"].startswith("/accounts/login/")
    response.refresh_from_db()
    assert response.reviewed_at is None
    assert not ReasonChange.objects.exists()


@pytest.mark.parametrize(
    ("role_user", "allowed"), [("manager", False), ("executive", True), ("administrator", True)], indirect=["role_user"]
)
def test_marking_reviewed_is_for_the_reviewer_and_administrators(client, role_user, allowed):
    response = make_response()
    client.force_login(role_user)
    answer = client.post(_reviewed_url(response))
    assert answer.status_code == (302 if allowed else 403)
    response.refresh_from_db()
    assert (response.reviewed_at is not None) is allowed
    assert (response.reviewed_by_id == role_user.pk) is allowed


@pytest.mark.parametrize(
    ("role_user", "allowed"), [("manager", False), ("executive", True), ("administrator", True)], indirect=["role_user"]
)
def test_setting_the_reason_is_for_the_reviewer_and_administrators(client, role_user, allowed):
    response = make_response(reason=Reason.PRICE)
    client.force_login(role_user)
    answer = client.post(_reason_url(response), {"reason": Reason.DELIVERY, "fault": Fault.OURS, "note": "late trucks"})
    assert answer.status_code == (302 if allowed else 403)
    event = DefectionEvent.objects.get(pk=response.invitation.event_id)
    assert (event.primary_reason == Reason.DELIVERY) is allowed
    assert ReasonChange.objects.filter(event=event).exists() is allowed


def test_only_the_designated_reviewer_among_executives_may_review(client, executive):
    reviewer = UserFactory(role="Executives")
    designate_reviewer(reviewer)
    response = make_response()
    client.force_login(executive)
    assert client.post(_reviewed_url(response)).status_code == 403
    assert client.post(_reason_url(response), {"reason": "price", "fault": "ours"}).status_code == 403
    client.force_login(reviewer)
    assert client.post(_reviewed_url(response)).status_code == 302
    assert Response.objects.get(pk=response.pk).reviewed_by == reviewer


def test_a_designated_account_manager_reviewer_may_review(client, manager):
    designate_reviewer(manager)
    response = make_response()
    client.force_login(manager)
    assert client.post(_reviewed_url(response)).status_code == 302


def test_get_is_not_allowed_on_the_actions(admin_client):
    response = make_response()
    assert admin_client.get(_reviewed_url(response)).status_code == 405
    assert admin_client.get(_reason_url(response)).status_code == 405


def test_setting_the_reason_updates_the_event_marks_reviewed_and_keeps_the_history(admin_client, administrator):
    response = make_response(reason=Reason.PRICE)
    admin_client.post(_reason_url(response), {"reason": Reason.PRICE, "fault": Fault.UNKNOWN})
    admin_client.post(_reason_url(response), {"reason": Reason.SERVICE, "fault": Fault.OURS, "note": "rude call"})
    event = DefectionEvent.objects.get(pk=response.invitation.event_id)
    assert (event.primary_reason, event.fault) == (Reason.SERVICE, Fault.OURS)
    history = list(ReasonChange.objects.filter(event=event).order_by("changed_at", "id"))
    assert [(c.primary_reason, c.fault) for c in history] == [
        (Reason.PRICE, Fault.UNKNOWN),
        (Reason.SERVICE, Fault.OURS),
    ]
    assert {c.source for c in history} == {ReasonChange.Source.SURVEY_REVIEW}
    assert {c.changed_by_id for c in history} == {administrator.pk}
    assert history[-1].note == "rude call"
    response.refresh_from_db()
    assert response.reviewed_by == administrator
    html = admin_client.get(reverse("surveys:response_detail", args=[response.pk])).content.decode()
    assert "rude call" in html
    assert html.count("Survey review") == 2


def test_an_unknown_reason_or_fault_changes_nothing(admin_client):
    response = make_response()
    answer = admin_client.post(_reason_url(response), {"reason": "aliens", "fault": "ours"}, follow=True)
    assert "Choose a reason and a fault." in answer.content.decode()
    answer = admin_client.post(_reason_url(response), {"reason": "price", "fault": "maybe"})
    assert answer.status_code == 302
    assert not ReasonChange.objects.exists()
    assert DefectionEvent.objects.get(pk=response.invitation.event_id).primary_reason == ""


def test_the_service_refuses_an_unknown_fault(administrator):
    response = make_response()
    with pytest.raises(ValidationError):
        response_set_reason(response=response, reason=Reason.PRICE, fault="perhaps", actor=administrator)
    assert not ReasonChange.objects.exists()


def test_marking_reviewed_twice_keeps_the_first_reviewer_and_time(administrator, executive):
    response = make_response()
    first = response_mark_reviewed(response=response, actor=administrator).reviewed_at
    again = response_mark_reviewed(response=Response.objects.get(pk=response.pk), actor=executive)
    assert again.reviewed_at == first
    assert again.reviewed_by_id == administrator.pk


def test_a_reviewed_response_leaves_the_new_ones_in_the_inbox(admin_client):
    response = make_response()
    admin_client.post(_reviewed_url(response))
    html = admin_client.get(reverse("surveys:inbox"), {"state": "new"}).content.decode()
    assert reverse("surveys:response_detail", args=[response.pk]) not in html
    html = admin_client.get(reverse("surveys:inbox"), {"state": "reviewed"}).content.decode()
    assert reverse("surveys:response_detail", args=[response.pk]) in html
