"""The at-risk digest: at most one email a day per account manager, listing the customers who
newly moved to at risk, and none when nothing is new."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from customers.detection.digest import send_at_risk_digests
from customers.models import AtRiskDigest, Customer, StatusChange
from customers.tests.detection_helpers import NOON_TODAY, TODAY, customer_buying, detect, segment
from customers.tests.factories import CustomerFactory
from winback.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOON_TODAY, tick=False) as traveller:
        yield traveller


def _flagged(manager, name: str, value: str = "1000.00", *, hours_ago: int = 2, status=Customer.Status.AT_RISK):
    """A customer of the manager who moved to at risk a few hours ago (as a detection run records it)."""
    customer = CustomerFactory(
        name=name,
        account_manager=manager,
        status=status,
        annual_value=Decimal(value),
        last_purchase_at=NOON_TODAY - dt.timedelta(days=70),
    )
    StatusChange.objects.create(
        customer=customer,
        from_status="active",
        to_status="at_risk",
        rule=StatusChange.Rule.INACTIVE_AT_RISK,
        facts={"days": 70, "at_risk_days": 60, "gap": None},
        as_of=TODAY,
        changed_at=timezone.now() - dt.timedelta(hours=hours_ago),
    )
    return customer


def test_each_manager_gets_one_email_listing_their_newly_at_risk_customers(manager, other_manager):
    _flagged(manager, "Anna Berg", "500.00")
    _flagged(manager, "Bruno Cole", "9800.00")
    _flagged(other_manager, "Carla Diaz")
    assert send_at_risk_digests() == 2
    by_recipient = {message.to[0]: message for message in mail.outbox}
    assert set(by_recipient) == {manager.email, other_manager.email}
    message = by_recipient[manager.email]
    assert message.subject == "2 customers newly at risk"
    assert "Carla Diaz" not in message.body
    assert message.body.index("Bruno Cole") < message.body.index("Anna Berg")  # most at stake first
    assert by_recipient[other_manager.email].subject == "1 customer newly at risk"


def test_the_email_has_a_text_and_an_html_part_with_absolute_links_to_the_cards(manager, settings):
    settings.SITE_URL = "https://winback.example.com"
    customer = _flagged(manager, "Anna Berg", "12345.00")
    send_at_risk_digests()
    (message,) = mail.outbox
    url = f"https://winback.example.com/customers/{customer.pk}/"
    assert url in message.body
    assert "12,345 EUR" in message.body
    assert "No purchase for 70 days (at risk after 60 days); a one-time buyer" in message.body
    assert "70 days since the last purchase" in message.body
    assert "https://winback.example.com/at-risk/" in message.body
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    assert f'<a href="{url}">Anna Berg</a>' in html
    assert "12,345 EUR" in html
    assert "No purchase for 70 days" in html


def test_a_second_call_the_same_day_sends_nothing_more(manager):
    _flagged(manager, "Anna Berg")
    assert send_at_risk_digests() == 1
    _flagged(manager, "Bruno Cole", hours_ago=0)
    assert send_at_risk_digests() == 0
    assert len(mail.outbox) == 1
    digest = AtRiskDigest.objects.get(manager=manager)
    assert (digest.day, digest.customers, digest.sent_at) == (TODAY, 1, NOON_TODAY)


def test_nothing_new_means_no_email_and_no_digest_row(manager):
    _flagged(manager, "Long Ago", hours_ago=30)  # before the 24 hours a first digest looks back
    _flagged(manager, "Bought Again", status=Customer.Status.ACTIVE)
    assert send_at_risk_digests() == 0
    assert mail.outbox == []
    assert not AtRiskDigest.objects.exists()


def test_the_next_digest_lists_only_what_moved_since_the_previous_one(manager, frozen_clock):
    _flagged(manager, "Anna Berg")
    assert send_at_risk_digests() == 1
    frozen_clock.shift(dt.timedelta(days=1))
    _flagged(manager, "Bruno Cole", hours_ago=3)
    assert send_at_risk_digests() == 1
    latest = mail.outbox[-1]
    assert latest.subject == "1 customer newly at risk"
    assert "Bruno Cole" in latest.body
    assert "Anna Berg" not in latest.body
    frozen_clock.shift(dt.timedelta(days=1))
    assert send_at_risk_digests() == 0  # nothing since yesterday's digest
    assert AtRiskDigest.objects.filter(manager=manager).count() == 2


def test_a_quiet_day_leaves_the_day_open_for_a_later_run(manager):
    assert send_at_risk_digests() == 0
    _flagged(manager, "Anna Berg", hours_ago=0)
    assert send_at_risk_digests() == 1


def test_inactive_managers_and_other_roles_get_no_digest(manager, executive, administrator):
    manager.is_active = False
    manager.save()
    for user in (manager, executive, administrator):
        _flagged(user, f"Customer of {user.username}")
    assert send_at_risk_digests() == 0
    assert mail.outbox == []


def test_a_manager_without_an_email_address_is_skipped():
    quiet = UserFactory(username="quiet", role="Account managers", email="")
    _flagged(quiet, "Anna Berg")
    assert send_at_risk_digests() == 0


def test_the_digest_follows_a_real_detection_run(manager):
    customer = customer_buying(segment(at_risk=60, defected=90), 65, account_manager=manager)
    customer_buying(segment(at_risk=60, defected=90), 10, account_manager=manager)
    detect()
    assert send_at_risk_digests(day=TODAY) == 1
    (message,) = mail.outbox
    assert message.subject == "1 customer newly at risk"
    assert customer.name in message.body
    assert "No purchase for 65 days (at risk after 60 days)" in message.body
