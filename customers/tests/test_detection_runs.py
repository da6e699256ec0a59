"""Detection runs: figures, RFM, modes, idempotence, replays, dry runs, dismissals and the command."""

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from customers.detection.engine import SUMMARY_KEYS, DetectionError
from customers.detection.explain import explain
from customers.models import Customer, DefectionEvent, DetectionRun, StatusChange
from customers.services import dismiss_alarm
from customers.tests.detection_helpers import (
    NOON_TODAY,
    TODAY,
    buy,
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


def test_the_figures_are_computed_from_the_purchases():
    customer = customer_buying(segment(), 10, 50, 100, 400, 500, amount="50.00")
    buy(customer, days_ago(20), "20.00", kind="refund")
    detect()
    c = Customer.objects.get(pk=customer.pk)
    assert (c.order_count, c.lifetime_revenue) == (5, Decimal("230.00"))
    assert (c.orders_365d, c.revenue_365d) == (3, Decimal("130.00"))
    assert (c.orders_prev_365d, c.revenue_prev_365d) == (2, Decimal("100.00"))
    assert (c.orders_90d, c.orders_90d_base) == (2, 2)  # 10 and 50 days; 100 and 400 days
    # Gaps: 100, 300, 50, 40 days → median 75.
    assert c.median_gap_days == pytest.approx(75.0, abs=0.05)  # a gap across a DST change is an hour off
    assert c.first_purchase_at.date() == days_ago(500)
    assert c.last_purchase_at.date() == days_ago(10)
    years = (c.last_purchase_at - c.first_purchase_at).total_seconds() / 86400 / 365.25  # ~490 days
    assert c.annual_value == (Decimal("230") / Decimal(years)).quantize(Decimal("0.01"))
    assert c.metrics_as_of == TODAY
    assert not c.metrics_stale


@pytest.mark.parametrize("full", [False, True])
def test_refunds_count_against_the_revenue_but_not_as_purchases_or_gaps(full):
    seg = segment()
    refunded = customer_buying(seg, 30, 60, amount="40.00")
    buy(refunded, days_ago(45), "25.00", kind="refund")  # between the two purchases
    only_refunds = customer_buying(seg)
    buy(only_refunds, days_ago(400), "15.00", kind="refund")
    detect(full=full)
    c = Customer.objects.get(pk=refunded.pk)
    assert (c.order_count, c.lifetime_revenue, c.orders_365d, c.revenue_365d) == (
        2,
        Decimal("55.00"),
        2,
        Decimal("55.00"),
    )
    assert c.median_gap_days == pytest.approx(30.0, abs=0.05)  # purchase to purchase, the refund skipped
    r = Customer.objects.get(pk=only_refunds.pk)
    assert (r.order_count, r.lifetime_revenue, r.revenue_365d, r.revenue_prev_365d) == (
        0,
        Decimal("-15.00"),
        Decimal("0.00"),
        Decimal("-15.00"),
    )
    assert (r.first_purchase_at, r.last_purchase_at, r.median_gap_days, r.annual_value) == (None, None, None, 0)


def test_the_nightly_run_scores_new_figures_against_the_last_cut_points_and_a_full_run_moves_them():
    seg = segment(at_risk=1000, defected=2000)
    customers = [customer_buying(seg, *range(10, 10 + 5 * (i + 1), 5)) for i in range(10)]
    first_cuts = detect().summary["rfm_cuts"]
    for _ in range(20):  # the smallest buyer becomes the biggest
        buy(customers[0], days_ago(0))
    nightly = detect()
    assert nightly.summary["rfm_cuts"] == first_cuts
    assert nightly.summary["figures_updated"] == 1
    assert Customer.objects.values_list("r_score", "f_score").get(pk=customers[0].pk) == (5, 5)
    full = detect(full=True)
    assert full.summary["rfm_cuts"]["f_score"] != first_cuts["f_score"]


def test_rfm_scores_rank_customers_by_quintile():
    seg = segment(at_risk=1000, defected=2000)
    customers = [
        customer_buying(seg, *range(100 - i * 10, 100 - i * 10 + i + 1), amount=str(10 * (i + 1))) for i in range(5)
    ]
    detect()
    scores = [Customer.objects.values_list("r_score", "f_score", "m_score").get(pk=c.pk) for c in customers]
    assert [r for r, _f, _m in scores] == [1, 2, 3, 4, 5]
    assert [f for _r, f, _m in scores] == [1, 2, 3, 4, 5]
    assert [m for _r, _f, m in scores] == [1, 2, 3, 4, 5]


def test_a_second_run_with_the_same_as_of_changes_nothing():
    seg = segment()
    customers = [customer_buying(seg, age) for age in (10, 70, 100)]
    first = detect()
    assert first.summary["events_opened"] == 1
    before = (
        list(Customer.objects.order_by("pk").values_list("status", "status_changed_at", "updated_at")),
        StatusChange.objects.count(),
        DefectionEvent.objects.count(),
    )
    second = detect()
    assert second.mode == DetectionRun.Mode.NIGHTLY
    changes = {
        key: value
        for key, value in second.summary.items()
        if key not in ("scanned", "seconds", "rfm_cuts", "figure_connections", "steps")
    }
    assert changes == dict.fromkeys([*SUMMARY_KEYS[1:], "purchases_numbered"], 0)
    assert second.summary["rfm_cuts"] == first.summary["rfm_cuts"]
    after = (
        list(Customer.objects.order_by("pk").values_list("status", "status_changed_at", "updated_at")),
        StatusChange.objects.count(),
        DefectionEvent.objects.count(),
    )
    assert after == before
    assert [status_of(c) for c in customers] == ["active", "at_risk", "defected"]


def test_the_nightly_run_recomputes_only_customers_with_new_purchases():
    seg = segment()
    quiet = customer_buying(seg, 10)
    busy = customer_buying(seg, 40)
    detect()
    buy(busy, days_ago(0))
    run = detect()
    assert run.mode == DetectionRun.Mode.NIGHTLY
    assert run.summary["figures_updated"] == 1
    assert Customer.objects.get(pk=busy.pk).order_count == 2
    assert Customer.objects.get(pk=quiet.pk).order_count == 1


def test_time_alone_moves_customers_across_thresholds_in_the_nightly_run():
    customer = customer_buying(segment(), 55)
    detect()
    assert status_of(customer) == "active"
    with time_machine.travel(NOON_TODAY + dt.timedelta(days=5), tick=False):
        run = detect()
    assert run.mode == DetectionRun.Mode.NIGHTLY
    assert run.summary["figures_updated"] == 0
    assert status_of(customer) == "at_risk"


def test_a_replay_as_of_a_past_day_ignores_later_purchases():
    customer = customer_buying(segment(), 100)
    buy(customer, days_ago(5))  # after the replayed day
    run = detect(as_of=days_ago(10))
    assert run.mode == DetectionRun.Mode.AS_OF
    c = Customer.objects.get(pk=customer.pk)
    assert (c.status, c.order_count, c.last_purchase_at.date()) == ("defected", 1, days_ago(100))
    assert DefectionEvent.objects.get(customer=customer).as_of == days_ago(10)
    # The status dates from the replayed day (its end), not from when the replay ran.
    assert timezone.localtime(c.status_changed_at).date() == days_ago(10)
    assert c.status_changed_at <= timezone.now()
    # The next run is a full recompute from every purchase: the customer is won back.
    later = detect()
    assert later.mode == DetectionRun.Mode.FULL
    assert status_of(customer) == "won_back"


def test_a_replay_cannot_go_back_in_time_but_a_dry_run_can():
    customer = customer_buying(segment(), 100)
    detect()
    with pytest.raises(DetectionError, match="a replay must go forward in time"):
        detect(as_of=days_ago(30))
    dry = detect(as_of=days_ago(30), dry_run=True)
    assert dry.dry_run
    assert dry.status == DetectionRun.Status.DONE
    assert dry.summary["scanned"] == 1
    assert Customer.objects.get(pk=customer.pk).last_purchase_at.date() == days_ago(100)


def test_a_dry_run_writes_nothing_but_its_record():
    customer = customer_buying(segment(), 100)
    run = detect(dry_run=True)
    assert run.summary["newly_defected_passive"] == 1
    assert status_of(customer) == "active"
    assert not DefectionEvent.objects.exists()
    assert not StatusChange.objects.exists()
    assert list(DetectionRun.objects.values_list("dry_run", "status")) == [(True, "done")]


def test_a_day_in_the_future_is_refused():
    with pytest.raises(DetectionError, match="in the future"):
        detect(as_of=TODAY + dt.timedelta(days=1))


def test_a_dismissed_alarm_is_not_raised_again_before_its_date(manager):
    customer = customer_buying(segment(), 100, account_manager=manager)
    detect()
    dismiss_alarm(customer=customer, actor=manager, kind="seasonal", note="Buys for the winter.", until=days_ago(-30))
    c = Customer.objects.get(pk=customer.pk)
    assert c.status == "active"
    assert DefectionEvent.objects.get(customer=customer).status == "closed"
    change = StatusChange.objects.filter(customer=customer).first()
    assert explain(change).startswith("Alarm dismissed (Seasonal buyer); not flagged again before ")
    assert detect().summary["newly_defected_passive"] == 0
    assert status_of(customer) == "active"
    with time_machine.travel(NOON_TODAY + dt.timedelta(days=31), tick=False):
        detect()
    assert status_of(customer) == "defected"
    assert DefectionEvent.objects.filter(customer=customer, status="open").count() == 1


def test_a_dismissal_needs_a_future_date_and_a_note_for_other(manager):
    customer = customer_buying(segment(), 100, account_manager=manager)
    with pytest.raises(ValidationError) as error:
        dismiss_alarm(customer=customer, actor=manager, kind="other", note=" ", until=TODAY)
    assert set(error.value.message_dict) == {"note", "until"}
    assert not customer.dismissals.exists()


def test_another_managers_customer_cannot_be_dismissed(manager, other_manager):
    from django.core.exceptions import PermissionDenied

    customer = customer_buying(segment(), 100, account_manager=other_manager)
    with pytest.raises(PermissionDenied):
        dismiss_alarm(customer=customer, actor=manager, kind="seasonal", note="", until=days_ago(-10))


def test_the_command_prints_the_summary():
    customer_buying(segment(), 100)
    out = StringIO()
    call_command("detect_defections", stdout=out)
    text = out.getvalue()
    assert "Detection as of 2026-06-15 (full recompute)" in text
    assert "Newly defected (passive)" in text
    lines = {line.strip().rsplit(None, 1)[0]: line.strip().rsplit(None, 1)[1] for line in text.splitlines()[1:]}
    assert lines["Newly defected (passive)"] == "1"
    assert lines["Events opened"] == "1"


def test_the_command_rejects_a_bad_date():
    with pytest.raises(CommandError, match="--as-of must be a date"):
        call_command("detect_defections", "--as-of", "31/03/2026")
