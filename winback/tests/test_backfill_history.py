"""backfill_history: detection replayed month by month over a small hand-made purchase history
(today is 2026-06-15; segment rules: at risk from 60 days, defected from 90)."""

import datetime as dt
from collections import Counter
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db.models import Sum

from customers.detection.engine import run_detection
from customers.models import Customer, DefectionEvent, DetectionRun, StatusChange
from customers.tests.detection_helpers import NOON_TODAY, at_noon, buy, segment, status_of
from customers.tests.factories import CustomerFactory
from winback.dashboard.backfill import backfill_history
from winback.dashboard.models import AtRiskMonth, CustomerMonth, DefectionMonth, FactRefresh
from winback.dashboard.refresh import record_at_risk

pytestmark = pytest.mark.django_db

D = dt.date
JAN, FEB, MAR, APR, MAY, JUN = (D(2026, m, 1) for m in range(1, 7))
MONTH_ENDS = [D(2026, 1, 31), D(2026, 2, 28), D(2026, 3, 31), D(2026, 4, 30), D(2026, 5, 31)]
# Who defects as of which month end (the last purchase 90+ days before it).
EXPECTED_EVENTS = {
    "returner": D(2026, 1, 31),
    "drifter": D(2026, 2, 28),
    "stopper": D(2026, 3, 31),
    "feb2": D(2026, 3, 31),
    "march": D(2026, 4, 30),
    "late": D(2026, 5, 31),
    "april2": D(2026, 5, 31),
}
# At risk (60–89 days without a purchase) at each month's end, and now.
EXPECTED_AT_RISK = {JAN: 1, FEB: 2, MAR: 1, APR: 2, MAY: 1, JUN: 1}


@pytest.fixture(autouse=True)
def _frozen_today():
    with time_machine.travel(NOON_TODAY, tick=False):
        yield


@pytest.fixture
def history() -> dict[str, Customer]:
    seg = segment(at_risk=60, defected=90, min_orders=100)
    purchases = {
        "steady": [D(2025, 9, 5), *(D(y, m, 5) for y, m in [(2025, 10), (2025, 11), (2025, 12)])]
        + [D(2026, m, 5) for m in range(1, 7)],
        "returner": [D(2025, 9, 10), D(2025, 10, 10), D(2026, 4, 20)],  # away from 2026-01, back in April
        "stopper": [D(2025, 10, 15), D(2025, 11, 15), D(2025, 12, 15)],
        "drifter": [D(2025, 11, 20)],
        "feb2": [D(2025, 12, 10)],
        "march": [D(2026, 1, 20)],
        "late": [D(2026, 1, 25), D(2026, 2, 10)],
        "april2": [D(2026, 2, 15)],
        "may": [D(2026, 3, 20)],
    }
    customers = {}
    for name, days in purchases.items():
        customers[name] = CustomerFactory(segment=seg, name=name)
        for day in days:
            buy(customers[name], day)
    return customers


def backfill(month: str) -> str:
    out = StringIO()
    call_command("backfill_history", "--from", month, stdout=out)
    return out.getvalue()


def at_risk_by_month() -> dict[dt.date, int]:
    rows = AtRiskMonth.objects.values("month").annotate(n=Sum("at_risk"))
    return {row["month"]: row["n"] for row in rows}


def events_by_customer() -> dict[str, list[dt.date]]:
    events: dict[str, list[dt.date]] = {}
    for name, as_of in DefectionEvent.objects.order_by("as_of").values_list("customer__name", "as_of"):
        events.setdefault(name, []).append(as_of)
    return events


def written() -> tuple[int, ...]:
    models = (DetectionRun, DefectionEvent, StatusChange, AtRiskMonth, FactRefresh, CustomerMonth, DefectionMonth)
    return tuple(model.objects.count() for model in models)


def test_the_backfill_replays_each_month_end_then_today_and_refreshes_the_facts(history):
    output = backfill("2026-01")
    runs = list(DetectionRun.objects.order_by("pk").values_list("as_of", "mode", "trigger", "status"))
    assert runs == [(day, "as_of", "backfill", "done") for day in MONTH_ENDS] + [
        (D(2026, 6, 15), "full", "backfill", "done")
    ]
    assert events_by_customer() == {name: [day] for name, day in EXPECTED_EVENTS.items()}
    returned = DefectionEvent.objects.get(customer=history["returner"])
    assert returned.status == DefectionEvent.Status.RECOVERED
    assert returned.recovered_at == at_noon(D(2026, 4, 20))
    assert status_of(history["returner"]) == "won_back"
    assert status_of(history["may"]) == "at_risk"
    assert at_risk_by_month() == EXPECTED_AT_RISK
    refresh = FactRefresh.objects.get()
    assert (refresh.trigger, refresh.status) == ("backfill", FactRefresh.Status.DONE)
    assert "  2026-01  2026-01-31          1       0         0        1" in output
    assert "Dashboard facts rebuilt" in output


def test_the_fact_tables_hold_the_replayed_months(history):
    backfill("2026-01")
    defections = Counter()
    for month, events in DefectionMonth.objects.values_list("month", "events"):
        defections[month] += events
    assert defections == {JAN: 1, FEB: 1, MAR: 2, APR: 1, MAY: 2}
    flows = {
        row["month"]: row
        for row in CustomerMonth.objects.values("month").annotate(
            new=Sum("new_customers"),
            out=Sum("defected_out"),
            back=Sum("returned"),
            won=Sum("won_back"),
            recovered=Sum("recovered_revenue"),
        )
    }
    assert {month: row["out"] for month, row in flows.items() if row["out"]} == defections
    assert {month: row["new"] for month, row in flows.items() if row["new"]} == {
        D(2025, 9, 1): 2,
        D(2025, 10, 1): 1,
        D(2025, 11, 1): 1,
        D(2025, 12, 1): 1,
        JAN: 2,
        FEB: 1,
        MAR: 1,
    }
    assert {month: (row["back"], row["won"]) for month, row in flows.items() if row["won"]} == {APR: (1, 1)}
    assert flows[APR]["recovered"] == Decimal("100.00")  # the purchase that won the returner back


def test_the_summary_counts_each_months_defections_win_backs_and_at_risk_customers(history):
    out = StringIO()
    summary = backfill_history(D(2026, 1, 1), stdout=out)
    rows = [(r.month, r.as_of, r.defected_passive, r.defected_active, r.won_back, r.at_risk) for r in summary.months]
    assert rows == [
        (JAN, D(2026, 1, 31), 1, 0, 0, 1),
        (FEB, D(2026, 2, 28), 1, 0, 0, 2),
        (MAR, D(2026, 3, 31), 2, 0, 0, 1),
        (APR, D(2026, 4, 30), 1, 0, 1, 2),
        (MAY, D(2026, 5, 31), 2, 0, 0, 1),
    ]
    assert (summary.current.as_of, summary.current.defected_passive, summary.current.at_risk) == (
        D(2026, 6, 15),
        0,
        1,
    )
    assert summary.skipped == []
    assert summary.refresh.status == FactRefresh.Status.DONE
    assert out.getvalue().count("\n") == 2 + 5 + 1 + 1  # intro, header, a line per month, now, refresh


def test_a_second_run_after_an_interrupted_one_continues_without_duplicating_events(history):
    # What an interrupted backfill leaves: January done, February replayed but its at-risk count
    # not recorded yet (the crash came between the two steps).
    run_detection(as_of=D(2026, 1, 31), trigger="backfill")
    record_at_risk(JAN)
    run_detection(as_of=D(2026, 2, 28), trigger="backfill")
    output = backfill("2026-01")
    assert "Detection has already run as of 2026-02-28: skipping 2 month(s) up to 2026-02." in output
    as_of_days = list(DetectionRun.objects.order_by("pk").values_list("as_of", flat=True))
    assert as_of_days == [*MONTH_ENDS, D(2026, 6, 15)]
    assert events_by_customer() == {name: [day] for name, day in EXPECTED_EVENTS.items()}
    assert at_risk_by_month() == EXPECTED_AT_RISK


def test_a_run_that_stopped_after_the_last_month_only_finishes(history):
    for day in MONTH_ENDS:
        run_detection(as_of=day, trigger="backfill")
    summary = backfill_history(JAN)
    assert summary.months == []
    assert summary.skipped == [JAN, FEB, MAR, APR, MAY]
    assert DetectionRun.objects.count() == 6
    assert at_risk_by_month() == {MAY: 1, JUN: 1}  # May's recorded again; the others were never
    assert FactRefresh.objects.count() == 1


@pytest.mark.parametrize("value", ["2026-1", "2026-13", "26-01", "January", "2026-01-31", ""])
def test_a_month_in_another_format_is_refused(history, value):
    with pytest.raises(CommandError, match=f"--from must be a month like 2024-07, not '{value}'"):
        backfill(value)
    assert written() == (0,) * 7


def test_a_month_in_the_future_is_refused(history):
    with pytest.raises(CommandError, match=r"^2026-07 is in the future\.$"):
        backfill("2026-07")
    assert written() == (0,) * 7


def test_the_current_month_is_refused_because_it_has_not_ended(history):
    with pytest.raises(CommandError, match=r"^2026-06 has not ended yet; --from must be an earlier month"):
        backfill("2026-06")
    assert written() == (0,) * 7


def test_a_month_before_the_first_purchase_is_refused_naming_that_month(history):
    message = r"^The first purchase was in 2025-09; --from must be 2025-09 or later, not 2025-08\.$"
    with pytest.raises(CommandError, match=message):
        backfill("2025-08")
    assert written() == (0,) * 7


def test_without_purchases_there_is_nothing_to_replay():
    CustomerFactory()
    with pytest.raises(CommandError, match=r"^There are no purchases to replay; import the purchases first\.$"):
        backfill("2026-01")
    assert written() == (0,) * 7


def test_history_that_already_exists_is_not_replayed_again(history):
    run_detection(as_of=D(2026, 6, 1))
    before = written()
    message = (
        r"^Detection has already run as of 2026-06-01; backfill_history fills history only before "
        r"the first detection run \(the history from that day on already exists\)\.$"
    )
    with pytest.raises(CommandError, match=message):
        backfill("2026-01")
    assert written() == before  # not even a failed detection run


def test_a_finished_backfill_is_not_run_twice(history):
    backfill("2026-01")
    before = written()
    with pytest.raises(CommandError, match=r"^Detection has already run as of 2026-06-15; backfill_history"):
        backfill("2026-03")
    assert written() == before
