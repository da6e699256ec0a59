"""The mail provider's tracking webhook (Anymail, Postmark payloads recorded in tests/payloads/):
hard bounces and spam complaints suppress the address, soft bounces and deliveries are only
recorded, a re-sent webhook changes nothing, and only the provider with the secret gets in."""

import base64
import json
from pathlib import Path

import pytest
from django.test import override_settings
from django.urls import reverse

from customers.tests.factories import CustomerFactory
from surveys.models import EmailEvent, Suppression
from surveys.suppression import email_hash, survey_mail_refusal
from surveys.tests.factories import InvitationFactory

PAYLOADS = Path(__file__).parent / "payloads"
SECRET = "postmark:hook-secret-3f9a1c"
WEBHOOK_SETTINGS = {"WEBHOOK_SECRET": SECRET}
HARD_BOUNCE_MESSAGE_ID = "<171234567890.41234.9876543210@winback.example.com>"

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webhook_secret")]


@pytest.fixture
def webhook_secret():
    with override_settings(ANYMAIL=WEBHOOK_SETTINGS):
        yield


def _payload(name: str) -> bytes:
    return (PAYLOADS / f"{name}.json").read_bytes()


def _post(client, name: str, auth: str | None = SECRET):
    headers = {}
    if auth is not None:
        headers["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(auth.encode()).decode()
    return client.post(
        reverse("surveys:anymail_tracking"), data=_payload(name), content_type="application/json", **headers
    )


def test_the_webhook_is_postmarks_tracking_url_under_anymail():
    assert reverse("surveys:anymail_tracking") == "/anymail/postmark/tracking/"


def test_a_hard_bounce_suppresses_the_address_of_the_invitation_it_names(client):
    invitation = InvitationFactory(
        message_id=HARD_BOUNCE_MESSAGE_ID,
        event__customer__email="anna.kowalska@example.org",
        status="sent",
        survey__is_active=False,
    )
    # A re-import made a newer row with the same address: the Message-ID still finds the right one.
    CustomerFactory(email="anna.kowalska@example.org")

    response = _post(client, "postmark_hard_bounce")

    assert response.status_code == 200
    event = EmailEvent.objects.get()
    assert event.kind == EmailEvent.Kind.BOUNCED
    assert event.customer == invitation.customer
    assert event.invitation == invitation
    assert event.provider_event_id == "postmark:4323372036854775807"
    assert "unable to deliver" in event.description
    assert event.occurred_at.isoformat().startswith("2025-03-11T09:14:27")
    suppression = Suppression.objects.get(email_hash=email_hash("anna.kowalska@example.org"))
    assert suppression.reason == Suppression.Reason.HARD_BOUNCE
    assert suppression.customer == invitation.customer
    assert "suppressed" in survey_mail_refusal(invitation.customer)


def test_a_spam_complaint_suppresses_the_address_of_the_customer_found_by_it(client):
    customer = CustomerFactory(email="Ivan.Petrov@example.org")

    assert _post(client, "postmark_spam_complaint").status_code == 200

    event = EmailEvent.objects.get()
    assert (event.kind, event.customer, event.invitation) == (EmailEvent.Kind.COMPLAINED, customer, None)
    suppression = Suppression.objects.get()
    assert suppression.email_hash == email_hash(customer.email)
    assert suppression.reason == Suppression.Reason.COMPLAINT


def test_a_soft_bounce_is_recorded_but_suppresses_nothing(client):
    customer = CustomerFactory(email="maria.ivanova@example.org")

    assert _post(client, "postmark_soft_bounce").status_code == 200

    event = EmailEvent.objects.get()
    assert (event.kind, event.customer) == (EmailEvent.Kind.DEFERRED, customer)
    assert not Suppression.objects.exists()
    assert survey_mail_refusal(customer) == ""


def test_a_delivery_is_recorded_once_although_postmark_gives_it_no_event_id(client):
    customer = CustomerFactory(email="ivan.petrov@example.org")

    assert _post(client, "postmark_delivery").status_code == 200
    assert _post(client, "postmark_delivery").status_code == 200

    event = EmailEvent.objects.get()
    assert (event.kind, event.customer) == (EmailEvent.Kind.DELIVERED, customer)
    assert event.provider_event_id.startswith("postmark:sha256:")
    assert not Suppression.objects.exists()


def test_a_webhook_the_provider_sends_again_changes_nothing(client):
    customer = CustomerFactory(email="ivan.petrov@example.org")
    for _attempt in range(3):
        assert _post(client, "postmark_spam_complaint").status_code == 200

    assert EmailEvent.objects.count() == 1
    assert Suppression.objects.count() == 1
    assert Suppression.objects.get().customer == customer


def test_an_event_for_an_address_of_no_customer_still_suppresses_it(client):
    assert _post(client, "postmark_hard_bounce").status_code == 200

    assert EmailEvent.objects.get().customer is None
    assert Suppression.objects.filter(email_hash=email_hash("anna.kowalska@example.org")).exists()


def test_a_bounce_after_an_unsubscribe_keeps_the_unsubscribe(client):
    customer = CustomerFactory(email="anna.kowalska@example.org")
    Suppression.objects.create(email_hash=email_hash(customer.email), reason=Suppression.Reason.UNSUBSCRIBED)

    assert _post(client, "postmark_hard_bounce").status_code == 200

    assert Suppression.objects.get().reason == Suppression.Reason.UNSUBSCRIBED
    assert EmailEvent.objects.get().kind == EmailEvent.Kind.BOUNCED


@pytest.mark.parametrize("auth", [None, "postmark:wrong-secret", "someone:" + SECRET.split(":")[1]])
def test_a_post_without_the_right_basic_auth_is_rejected_and_stores_nothing(client, auth):
    CustomerFactory(email="ivan.petrov@example.org")

    response = _post(client, "postmark_spam_complaint", auth=auth)

    assert response.status_code == 400
    assert not EmailEvent.objects.exists()
    assert not Suppression.objects.exists()


def test_without_a_configured_secret_the_webhook_does_not_exist(client):
    CustomerFactory(email="ivan.petrov@example.org")
    with override_settings(ANYMAIL={"WEBHOOK_SECRET": ""}):
        response = _post(client, "postmark_spam_complaint")

    assert response.status_code == 404
    assert not Suppression.objects.exists()


def test_a_get_is_not_allowed(client):
    assert client.get(reverse("surveys:anymail_tracking")).status_code == 405


def test_the_webhook_answers_in_a_few_queries(client, django_assert_max_num_queries):
    InvitationFactory(
        message_id=HARD_BOUNCE_MESSAGE_ID, event__customer__email="anna.kowalska@example.org", survey__is_active=False
    )
    with django_assert_max_num_queries(8):
        assert _post(client, "postmark_hard_bounce").status_code == 200


def test_the_recorded_payloads_are_valid_json_of_postmark_record_types():
    kinds = {json.loads(_payload(path.stem))["RecordType"] for path in PAYLOADS.glob("postmark_*.json")}
    assert kinds == {"Bounce", "SpamComplaint", "Delivery"}
