"""The deliverability panel on the customer card and the staff "email invalid" mark."""

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.tests.factories import CustomerFactory
from surveys import policy
from surveys.card_deliverability import deliverability_panel
from surveys.models import EmailEvent, Suppression
from surveys.suppression import email_hash, survey_mail_refusal

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(manager):
    return CustomerFactory(account_manager=manager, email="Olga.Nowak@example.org")


def _mark_url(customer):
    return reverse("surveys:mark_email_invalid", args=[customer.pk])


def _undo_url(customer):
    return reverse("surveys:unmark_email_invalid", args=[customer.pk])


def test_the_card_shows_no_problems_and_the_mark_button_to_the_account_manager(manager_client, customer):
    response = manager_client.get(customer.get_absolute_url())

    assert response.status_code == 200
    assert "No delivery problems reported." in response.content.decode()
    assert _mark_url(customer) in response.content.decode()


def test_the_card_shows_a_suppressed_address_with_why_and_since_and_its_events(manager_client, customer):
    suppression = Suppression.objects.create(email_hash=email_hash(customer.email), reason="hard_bounce")
    EmailEvent.objects.create(kind=EmailEvent.Kind.BOUNCED, customer=customer, description="550 mailbox not found")

    html = manager_client.get(customer.get_absolute_url()).content.decode()

    since = timezone.localtime(suppression.created_at)  # shown in the business time zone
    assert f"No email goes to this address: Hard bounce, since {since:%Y-%m-%d}." in html
    assert "550 mailbox not found" in html
    assert _mark_url(customer) not in html  # already suppressed


def test_a_suppression_of_the_same_address_from_a_re_import_shows_too(manager_client, customer):
    Suppression.objects.create(email_hash=email_hash("olga.nowak@example.org"), reason="complaint")

    html = manager_client.get(customer.get_absolute_url()).content.decode()

    assert "No email goes to this address: Spam complaint" in html


def test_the_panel_costs_one_query(customer, manager, django_assert_num_queries):
    Suppression.objects.create(email_hash=email_hash(customer.email), reason="invalid")
    for number in range(8):
        EmailEvent.objects.create(kind=EmailEvent.Kind.DEFERRED, customer=customer, description=f"try {number}")
    policy.can_mark_email_invalid(manager, customer)  # the user's role and permissions, cached per request

    with django_assert_num_queries(1):
        panel = deliverability_panel(customer, manager)

    assert panel["suppressed"]["code"] == "invalid"
    assert [event["detail"] for event in panel["events"]] == [f"try {n}" for n in range(7, 2, -1)]


def test_the_panel_of_a_customer_without_an_address_offers_no_mark(manager):
    customer = CustomerFactory(account_manager=manager, email="")
    panel = deliverability_panel(customer, manager)
    assert (panel["suppressed"], panel["can_mark"], panel["events"]) == (None, False, [])


@pytest.mark.parametrize(
    ("role_user", "allowed"), [("manager", True), ("executive", False), ("administrator", True)], indirect=["role_user"]
)
def test_who_may_mark_an_address_invalid(client, role_user, allowed, manager):
    customer = CustomerFactory(account_manager=manager, email="olga@example.org")
    client.force_login(role_user)

    page = client.get(_mark_url(customer))
    posted = client.post(_mark_url(customer))

    assert page.status_code == (200 if allowed else 403)
    assert posted.status_code == (302 if allowed else 403)
    assert Suppression.objects.filter(email_hash=email_hash(customer.email)).exists() == allowed


def test_another_managers_customer_cannot_be_marked(client, other_manager, customer):
    client.force_login(other_manager)
    assert client.post(_mark_url(customer)).status_code == 403
    assert not Suppression.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(client, customer):
    for url in (_mark_url(customer), _undo_url(customer)):
        response = client.post(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_the_confirmation_page_changes_nothing(manager_client, customer, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        response = manager_client.get(_mark_url(customer))
    assert "Mark the email of" in response.content.decode()
    assert not Suppression.objects.exists()
    assert not EmailEvent.objects.exists()


def test_marking_suppresses_the_address_records_the_mark_and_stops_survey_mail(
    manager_client, customer, manager, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        response = manager_client.post(_mark_url(customer))

    assert response.status_code == 302
    assert response["Location"] == customer.get_absolute_url()
    suppression = Suppression.objects.get()
    assert (suppression.reason, suppression.customer) == (Suppression.Reason.INVALID, customer)
    event = EmailEvent.objects.get()
    assert (event.kind, event.customer) == (EmailEvent.Kind.MARKED_INVALID, customer)
    assert manager.username in event.description
    assert "suppressed" in survey_mail_refusal(customer)


def test_marking_an_unsubscribed_address_keeps_the_unsubscribe_and_records_the_mark(manager_client, customer):
    Suppression.objects.create(email_hash=email_hash(customer.email), reason="unsubscribed")

    manager_client.post(_mark_url(customer))

    assert Suppression.objects.get().reason == Suppression.Reason.UNSUBSCRIBED
    assert EmailEvent.objects.get().kind == EmailEvent.Kind.MARKED_INVALID


def test_an_administrator_sees_and_may_undo_the_mark(admin_client, customer, administrator):
    admin_client.post(_mark_url(customer))
    html = admin_client.get(customer.get_absolute_url()).content.decode()
    assert _undo_url(customer) in html

    response = admin_client.post(_undo_url(customer))

    assert response.status_code == 302
    assert not Suppression.objects.exists()
    assert survey_mail_refusal(customer) == ""
    kinds = list(EmailEvent.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == [EmailEvent.Kind.MARKED_INVALID, EmailEvent.Kind.OTHER]


def test_the_undo_never_lifts_a_bounce(admin_client, customer):
    Suppression.objects.create(email_hash=email_hash(customer.email), reason="hard_bounce")
    admin_client.post(_undo_url(customer))
    assert Suppression.objects.get().reason == Suppression.Reason.HARD_BOUNCE


@pytest.mark.parametrize("role_user", ["manager", "executive"], indirect=True)
def test_only_administrators_may_undo_the_mark(client, role_user, customer):
    Suppression.objects.create(email_hash=email_hash(customer.email), reason="invalid")
    client.force_login(role_user)

    html = client.get(customer.get_absolute_url()).content.decode()
    response = client.post(_undo_url(customer))

    assert _undo_url(customer) not in html
    assert response.status_code == 403
    assert Suppression.objects.exists()
