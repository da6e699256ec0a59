"""Each detection rule on its boundary days, on PostgreSQL, through the real engine."""

from decimal import Decimal

import pytest
import time_machine

from customers.detection.explain import explain
from customers.models import Customer, DefectionEvent, StatusChange
from customers.tests.detection_helpers import (
    NOON_TODAY,
    buy,
    cancel,
    customer_buying,
    days_ago,
    detect,
    segment,
    status_of,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen_today():
    with time_machine.travel(NOON_TODAY, tick=False):
        yield


@pytest.mark.parametrize(
    ("age", "expected"),
    [(59, "active"), (60, "at_risk"), (89, "at_risk"), (90, "defected"), (400, "defected")],
)
def test_inactivity_moves_a_customer_on_the_segments_boundary_days(age, expected):
    customer = customer_buying(segment(at_risk=60, defected=90), age)
    detect()
    assert status_of(customer) == expected


def test_a_defection_opens_one_passive_event_with_the_lost_revenue_estimate():
    # 3 orders of 100 over 730 days: 300 ÷ (730 ÷ 365.25) years = 150.10 a year.
    customer = customer_buying(segment(), 100, 100 + 365, 100 + 730)
    detect()
    event = DefectionEvent.objects.get(customer=customer)
    assert (event.kind, event.status, event.relapse) == ("passive", "open", False)
    assert event.lost_revenue == Decimal(300 / (730 / 365.25)).quantize(Decimal("0.01")) == Decimal("150.10")
    assert event.as_of == days_ago(0)
    assert event.last_purchase_at.date() == days_ago(100)


def test_a_one_time_buyer_is_valued_at_one_order_a_year():
    customer = customer_buying(segment(), 120, amount="80.00")
    detect()
    assert DefectionEvent.objects.get(customer=customer).lost_revenue == Decimal("80.00")


@pytest.mark.parametrize(("age", "expected"), [(100, "at_risk"), (179, "at_risk"), (180, "defected")])
def test_the_rhythm_rule_waits_for_a_multiple_of_the_customers_usual_gap(age, expected):
    # Buys every 60 days: with a multiple of 3 the limit is 180 days instead of the segment's 90.
    customer = customer_buying(segment(rhythm=True, multiple="3.0"), age, age + 60, age + 120, age + 180)
    detect()
    assert status_of(customer) == expected


def test_the_rhythm_never_shortens_the_segments_days():
    # Buys every 10 days (3 × 10 = 30 < 90): still defected only after the segment's 90 days.
    seg = segment(rhythm=True, multiple="3.0")
    frequent = customer_buying(seg, 89, 99, 109, 119)
    detect()
    assert status_of(frequent) == "at_risk"


def test_without_the_rhythm_rule_the_rare_buyer_is_defected_after_the_segments_days():
    customer = customer_buying(segment(rhythm=False), 100, 160, 220, 280)
    detect()
    assert status_of(customer) == "defected"


def test_a_one_time_buyer_uses_the_segments_days_even_with_the_rhythm_rule():
    customer = customer_buying(segment(rhythm=True, multiple="5.0"), 90)
    detect()
    assert status_of(customer) == "defected"
    change = StatusChange.objects.get(customer=customer)
    assert explain(change) == (
        "No purchase for 90 days; a one-time buyer, so the segment's days apply (segment rule: 90 days)."
    )


def test_the_explanation_gives_the_days_the_rhythm_and_the_segment_rule():
    # Usual gap 21 days, 3 × 21 = 63 < 90: the segment rule decides.
    ages = [124 + 21 * i for i in range(6)]
    customer = customer_buying(segment(rhythm=True), *ages)
    detect()
    change = StatusChange.objects.get(customer=customer)
    assert (change.from_status, change.to_status, change.rule) == ("active", "defected", "inactive_defected")
    assert (
        explain(change) == "No purchase for 124 days; this customer usually buys every 21 days (segment rule: 90 days)."
    )


def test_the_explanation_names_the_rhythm_limit_when_it_decides():
    customer = customer_buying(segment(rhythm=True, multiple="2.0"), 250, 370, 490)
    detect()
    assert explain(StatusChange.objects.get(customer=customer)) == (
        "No purchase for 250 days; this customer usually buys every 120 days, so the limit is 2 × 120 days = "
        "240 days (segment rule: 90 days)."
    )


def _steady_buyer_who_slowed_down(seg, recent_orders: int):
    """12 orders in the year before the last 90 days, then `recent_orders` in the last 90 days."""
    ages = [100 + 30 * i for i in range(12)] + [10 + 20 * i for i in range(recent_orders)]
    return customer_buying(seg, *ages)


@pytest.mark.parametrize(("recent", "expected"), [(1, "at_risk"), (2, "active")])
def test_a_sharp_drop_in_the_order_rate_flags_a_customer_at_risk(recent, expected):
    # Before: 12 a year (~2.96 per 90 days). 1 order is a 66% drop (≥ 50%); 2 orders a 32% drop.
    customer = _steady_buyer_who_slowed_down(segment(drop=50), recent)
    detect()
    assert status_of(customer) == expected
    if expected == "at_risk":
        change = StatusChange.objects.get(customer=customer)
        assert change.rule == "rate_drop"
        assert explain(change) == (
            "1 order in the last 90 days against 12 in the 365 days before: the order rate fell by 66% (rule: 50%)."
        )


def test_the_rate_rule_needs_enough_history():
    seg = segment(drop=50, min_orders=20)
    customer = _steady_buyer_who_slowed_down(seg, 1)
    detect()
    assert status_of(customer) == "active"


def test_a_cancellation_after_the_last_purchase_is_an_active_defection():
    customer = customer_buying(segment(), 5)
    cancel(customer, days_ago(2))
    detect()
    assert status_of(customer) == "defected"
    event = DefectionEvent.objects.get(customer=customer)
    assert event.kind == "active"
    assert explain(StatusChange.objects.get(customer=customer)).startswith("Cancelled on ")


def test_a_cancellation_before_the_last_purchase_changes_nothing():
    customer = customer_buying(segment(), 5)
    cancel(customer, days_ago(30))
    detect()
    assert status_of(customer) == "active"
    assert not DefectionEvent.objects.exists()


def test_a_purchase_after_defecting_wins_the_customer_back_and_recovers_the_event():
    customer = customer_buying(segment(), 100)
    detect(as_of=days_ago(3))
    purchase = buy(customer, days_ago(1))
    run = detect()
    assert status_of(customer) == "won_back"
    event = DefectionEvent.objects.get(customer=customer)
    assert (event.status, event.recovered_at) == ("recovered", purchase.occurred_at)
    assert run.summary["won_back"] == 1
    assert run.summary["events_closed"] == 1
    assert explain(StatusChange.objects.filter(customer=customer).first()).startswith("Bought again on ")


def test_a_won_back_customer_who_goes_quiet_again_relapses():
    customer = customer_buying(segment(), 300)
    detect(as_of=days_ago(200))
    buy(customer, days_ago(190))
    detect(as_of=days_ago(180))
    assert status_of(customer) == "won_back"
    run = detect()
    assert status_of(customer) == "defected"
    latest = DefectionEvent.objects.filter(customer=customer).order_by("-id").first()
    assert (latest.relapse, latest.status) == (True, "open")
    assert run.summary["relapsed"] == 1
    assert DefectionEvent.objects.filter(customer=customer).count() == 2


def test_a_comeback_is_not_flagged_for_its_low_recent_order_rate_by_the_next_run():
    # Monthly for a year, then 130 days of silence: defected. One purchase today wins them back;
    # their last 90 days (1 order) look like a drop against the year before (12), but the next
    # run must leave the fresh win-back alone, as a repeated run changes nothing.
    customer = customer_buying(segment(drop=50, min_orders=4), *[130 + 30 * i for i in range(12)])
    detect(as_of=days_ago(1))
    assert status_of(customer) == "defected"
    buy(customer, days_ago(0))
    detect()
    assert status_of(customer) == "won_back"
    again = detect()
    assert status_of(customer) == "won_back"
    assert again.summary["newly_at_risk"] == 0


def test_an_at_risk_customer_who_buys_again_is_active_again():
    customer = customer_buying(segment(), 70)
    detect(as_of=days_ago(1))
    assert status_of(customer) == "at_risk"
    buy(customer, days_ago(0))
    run = detect()
    assert status_of(customer) == "active"
    assert run.summary["back_to_active"] == 1
    assert StatusChange.objects.filter(customer=customer).first().rule == "bought_again"


def test_customers_without_a_segment_use_the_default_rules():
    from customers.models import DetectionSettings

    rules = DetectionSettings.load()
    rules.at_risk_days, rules.defected_days = 20, 40
    rules.save()
    customer = customer_buying(None, 25)
    detect()
    assert status_of(customer) == "at_risk"


def test_customers_who_never_bought_stay_active():
    customer = customer_buying(segment())
    detect()
    assert status_of(customer) == "active"
    assert Customer.objects.get(pk=customer.pk).r_score is None
