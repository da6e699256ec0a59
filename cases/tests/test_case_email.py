"""Emails from the case page: refused for do-not-contact, missing, invalid or undeliverable
addresses; a warning to confirm for another preferred channel; a survey opt-out does not stop it;
sent once by the task after the commit, with Reply-To the sender and a fixed Message-ID."""

import smtplib

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse
from django.utils import timezone

from cases.models import Activity, CaseEvent
from cases.services import case_email
from cases.tests.factories import CaseFactory
from surveys.models import Suppression
from surveys.suppression import suppress

pytestmark = pytest.mark.django_db


class DisconnectingBackend(BaseEmailBackend):
    """The SMTP transport dropping the connection (the one seam replaced here)."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("connection lost")


def _url(case) -> str:
    return reverse("cases:email", args=[case.pk])


def _send(client, case, **data):
    form = {
        "subject": "Sorry we missed you",
        "body": "Dear Ann,\n\nCall me.",
        "message_id": case_email.new_message_id(),
    }
    return client.post(_url(case), {**form, **data})


def test_the_form_is_prefilled_with_the_first_name_and_the_senders_signature(client):
    case = CaseFactory(customer__name="Ann Example")
    case.owner.first_name, case.owner.last_name = "Olga", "Owner"
    case.owner.save()
    client.force_login(case.owner)
    response = client.get(_url(case))
    body = response.context["form"].initial["body"]
    assert body.startswith("Dear Ann,")
    assert "Olga Owner" in body
    follow_up = client.get(_url(case), {"template": "after_call"}).context["form"].initial
    assert follow_up["subject"] == "Following up on our call"


def test_the_template_follows_the_customers_language(client):
    case = CaseFactory(customer__name="Jan Kowalski", customer__language="pl")
    client.force_login(case.owner)
    initial = client.get(_url(case)).context["form"].initial
    assert initial["body"].startswith("Dzień dobry Jan")


def test_a_customers_name_is_never_rendered_as_a_template(client):
    case = CaseFactory(customer__name="{{7*7}} {% debug %}")
    client.force_login(case.owner)
    assert client.get(_url(case)).context["form"].initial["body"].startswith("Dear {{7*7}},")


def test_sending_stores_the_email_and_the_task_sends_it_once_after_the_commit(
    client, django_capture_on_commit_callbacks
):
    case = CaseFactory()
    client.force_login(case.owner)
    message_id = case_email.new_message_id()
    with django_capture_on_commit_callbacks(execute=True):
        response = _send(client, case, message_id=message_id)
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to[0].endswith(f"<{case.customer.email}>")
    assert message.subject == "Sorry we missed you"
    assert message.extra_headers["Message-ID"] == message_id
    assert case.owner.email in message.reply_to[0]
    assert "Call me." in message.body
    activity = Activity.objects.get(case=case)
    assert activity.kind == Activity.Kind.EMAIL
    assert activity.email_status == Activity.EmailStatus.SENT
    assert CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.EMAIL).count() == 1

    # The same form submitted again sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        again = _send(client, case, message_id=message_id)
    assert again.status_code == 302
    assert len(mail.outbox) == 1
    assert Activity.objects.filter(case=case).count() == 1
    assert case_email.deliver(activity_id=activity.pk) == "not pending"


@pytest.mark.parametrize(
    ("customer_fields", "suppression", "why"),
    [
        ({"do_not_contact": True}, None, "asked not to be contacted"),
        ({"email": ""}, None, "no email address"),
        ({"email": "not-an-address"}, None, "not valid"),
        ({}, Suppression.Reason.HARD_BOUNCE, "Hard bounce"),
        ({}, Suppression.Reason.INVALID, "Marked invalid"),
        ({}, Suppression.Reason.COMPLAINT, "Spam complaint"),
    ],
)
def test_an_email_is_refused_with_the_reason_shown(
    client, django_capture_on_commit_callbacks, customer_fields, suppression, why
):
    case = CaseFactory(**{f"customer__{key}": value for key, value in customer_fields.items()})
    if suppression:
        suppress(case.customer.email, suppression)
    client.force_login(case.owner)
    page = client.get(_url(case)).content.decode()
    assert why in page
    assert 'name="subject"' not in page
    assert why in client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = _send(client, case)
    assert response.status_code == 302
    assert not Activity.objects.filter(case=case).exists()
    assert not mail.outbox


def test_a_survey_opt_out_or_unsubscribe_does_not_stop_a_case_email(client, django_capture_on_commit_callbacks):
    case = CaseFactory(customer__survey_opt_out_at=timezone.now())
    suppress(case.customer.email, Suppression.Reason.UNSUBSCRIBED)
    client.force_login(case.owner)
    with django_capture_on_commit_callbacks(execute=True):
        assert _send(client, case).status_code == 302
    assert len(mail.outbox) == 1


def test_another_preferred_channel_needs_a_confirmation(client, django_capture_on_commit_callbacks):
    case = CaseFactory(customer__preferred_channel="phone")
    client.force_login(case.owner)
    page = client.get(_url(case)).content.decode()
    assert "prefers to be contacted by phone" in page
    assert 'name="confirm_channel"' in page
    refused = _send(client, case)
    assert refused.status_code == 200
    assert "confirm_channel" in refused.context["form"].errors
    assert not Activity.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert _send(client, case, confirm_channel="on").status_code == 302
    assert len(mail.outbox) == 1
    assert Activity.objects.get(case=case).channel_warning.startswith("The customer prefers")


def test_a_preference_for_email_needs_no_confirmation(client, django_capture_on_commit_callbacks):
    case = CaseFactory(customer__preferred_channel="email")
    client.force_login(case.owner)
    assert 'name="confirm_channel"' not in client.get(_url(case)).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert _send(client, case).status_code == 302
    assert len(mail.outbox) == 1


def test_a_do_not_contact_set_after_the_submit_stops_the_send(client, django_capture_on_commit_callbacks):
    case = CaseFactory()
    client.force_login(case.owner)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _send(client, case)
    case.customer.do_not_contact = True
    case.customer.save(update_fields=["do_not_contact"])
    for callback in callbacks:
        callback()
    assert not mail.outbox
    assert Activity.objects.get(case=case).email_status == Activity.EmailStatus.FAILED


def test_a_dropped_connection_keeps_the_email_pending_for_a_retry(client, settings):
    case = CaseFactory()
    activity = Activity.objects.create(
        case=case,
        kind=Activity.Kind.EMAIL,
        actor=case.owner,
        to_email=case.customer.email,
        subject="Hi",
        body="Hello",
        message_id=case_email.new_message_id(),
        email_status=Activity.EmailStatus.PENDING,
    )
    settings.EMAIL_BACKEND = f"{__name__}.DisconnectingBackend"
    with pytest.raises(case_email.TransientSendError):
        case_email.deliver(activity_id=activity.pk)
    activity.refresh_from_db()
    assert activity.email_status == Activity.EmailStatus.PENDING
    assert case_email.deliver(activity_id=activity.pk, final_attempt=True) == "failed"
    activity.refresh_from_db()
    assert activity.email_status == Activity.EmailStatus.FAILED


def test_a_message_id_from_another_case_is_refused(client):
    first, second = CaseFactory(), CaseFactory()
    message_id = case_email.new_message_id()
    client.force_login(first.owner)
    _send(client, first, message_id=message_id)
    second.followers.add(first.owner)
    response = _send(client, second, message_id=message_id)
    assert response.status_code == 200
    assert Activity.objects.filter(case=second).count() == 0
