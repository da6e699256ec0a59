"""The backtest on a small hand-built history whose right answer is worked out below by hand.

Purchases at noon (business time zone). Rules: "Retail" and customers without a segment both
90 days to defected (at risk 60) with the rhythm rule × 3.0. Backtest 2024-06 – 2024-08, horizon
180 days; the latest purchase is 2025-02-15, so 2024-08 (31 Aug + 180 = 27 Feb 2025) is incomplete.

  customer              segment  purchases                          as of 30 Jun          as of 31 Jul
  1 steady              Retail   15th monthly 2023-01 … 2025-02     15 days, stays         15 days, stays
  2 twice a year        Retail   10 Jan / 10 Jul 2023 … 10 Jan 2025 172 d, gap 182.5: plain  21 d, stays
                                                                    flags it, it buys 10 Jul
  3 defector            —        1st monthly 2023-06 … 2024-03      121 d, gap 31: defector 152 d: defector
  4 one-time buyer      —        20 Feb 2024                        131 d, no gap: defector 162 d: defector
  5 comes back          Retail   5 Jan, 5 Feb, 5 Mar, 20 Jul 2024   117 d, gap 30: flagged, 11 d, then never
                                                                    buys 20 Jul (false alarm) again: missed
  6 dismissed           —        15 Jan, 15 Feb 2024; dismissed     136 d: would be flagged  167 d: flagged
                                 10 Jun until 15 Jul                but dismissed; defector
  7 lapsed              Retail   1 Mar 2022                         not in the population (no purchase in a year)
  8 Retail defector     Retail   10th monthly 2023-09 … 2024-02     141 d, gap 31: defector 172 d: defector

June: population 7, defectors {3, 4, 6, 8}. Current flags {3, 4, 5, 8}: 1 false alarm (5), 1 dismissed
(6): precision 3/4, recall 3/4, F1 3/4. Plain also flags 2: 5 flagged, 2 false alarms, precision 3/5,
recall 3/4, F1 6/9.
July: population 7, defectors {3, 4, 5, 6, 8}; both flag {3, 4, 6, 8}: precision 1, recall 4/5, F1 8/9.
Totals (June + July): current 8 flagged, 1 false alarm, 7 right of 9 defectors: P 7/8, R 7/9, F1 14/17;
plain 9 flagged, 2 false alarms: P 7/9, R 7/9, F1 14/18.

Retail suggestion: its defectors are 8 (June, July) and 5 (July, 11 days: nobody can catch it).
Plain rules catching 8 in June (141 days) also flag 2 (172 days): F1 at most 4/6. With the rhythm,
2 is held back by any multiple (1.5 × 182.5 > 172) and 5 in June (117 days, gap 30) by 4 × 30 = 120;
8 in June needs multiple × 31 <= 141, so × 4: 75 days (the smallest above the 60 at-risk days) and
× 4.0 flag exactly 8 twice: F1 4/5 with no false alarm, against the current rule's 4/6 (1 false alarm).
"""

import csv
import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from customers.detection.backtest import run_backtest
from customers.detection.engine import number_purchases_first
from customers.models import BacktestRun, Customer, DetectionSettings, Dismissal, Segment, Transaction
from customers.tests.factories import CustomerFactory, SegmentFactory, TransactionFactory
from winback.tests.processes import clean_env, run_manage

RULES = {"at_risk_days": 60, "defected_days": 90, "rhythm_enabled": True, "rhythm_multiple": Decimal("3.0")}


def noon(year: int, month: int, day: int) -> dt.datetime:
    return dt.datetime(year, month, day, 12, tzinfo=ZoneInfo(settings.TIME_ZONE))


def monthly(day: int, first: tuple[int, int], last: tuple[int, int]) -> list[dt.datetime]:
    (year, month), out = first, []
    while (year, month) <= last:
        out.append(noon(year, month, day))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def build_history() -> dict[str, Customer]:
    """The customers of the module docstring (also run in a SQLite process by the last test)."""
    retail = SegmentFactory(name="Retail", **RULES)
    DetectionSettings.objects.update_or_create(pk=1, defaults=RULES)
    purchases = {
        "steady": (retail, monthly(15, (2023, 1), (2025, 2))),
        "twice_a_year": (retail, [noon(y, m, 10) for y, m in ((2023, 1), (2023, 7), (2024, 1), (2024, 7), (2025, 1))]),
        "defector": (None, monthly(1, (2023, 6), (2024, 3))),
        "one_time": (None, [noon(2024, 2, 20)]),
        "comes_back": (retail, [noon(2024, 1, 5), noon(2024, 2, 5), noon(2024, 3, 5), noon(2024, 7, 20)]),
        "dismissed": (None, [noon(2024, 1, 15), noon(2024, 2, 15)]),
        "lapsed": (retail, [noon(2022, 3, 1)]),
        "retail_defector": (retail, monthly(10, (2023, 9), (2024, 2))),
    }
    customers = {}
    for name, (segment, times) in purchases.items():
        customers[name] = CustomerFactory(name=name, segment=segment)
        for at in times:
            TransactionFactory(customer=customers[name], occurred_at=at)
    # A refund is not a purchase: the defector stays a defector.
    TransactionFactory(customer=customers["defector"], occurred_at=noon(2024, 8, 1), kind=Transaction.Kind.REFUND)
    Dismissal.objects.create(
        customer=customers["dismissed"], kind="seasonal", until=dt.date(2024, 7, 15), created_at=noon(2024, 6, 10)
    )
    # Dismissed only after July: counts in August alone.
    Dismissal.objects.create(
        customer=customers["one_time"], kind="other", until=dt.date(2024, 12, 31), created_at=noon(2024, 8, 5)
    )
    return customers


@pytest.fixture
def history(db):
    return build_history()


def figures(flagged, false_alarms, dismissed, precision, recall, f1) -> dict:
    return {
        "flagged": flagged,
        "false_alarms": false_alarms,
        "dismissed": dismissed,
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


JUNE = {
    "month": "2024-06",
    "as_of": "2024-06-30",
    "complete": True,
    "population": 7,
    "defectors": 4,
    "current": figures(4, 1, 1, 0.75, 0.75, 0.75),
    "plain": figures(5, 2, 1, 0.6, 0.75, 0.6667),
}
JULY = {
    "month": "2024-07",
    "as_of": "2024-07-31",
    "complete": True,
    "population": 7,
    "defectors": 5,
    "current": figures(4, 0, 0, 1.0, 0.8, 0.8889),
    "plain": figures(4, 0, 0, 1.0, 0.8, 0.8889),
}


def test_each_month_counts_flags_false_alarms_and_dismissals_for_both_rule_sets(history):
    result = run_backtest(from_month="2024-06", to_month="2024-07", save=False)

    assert result["months"] == [JUNE, JULY]
    assert result["horizon_days"] == 180
    assert result["latest_purchase"] == "2025-02-15"


def test_totals_pool_the_complete_months_and_leave_out_the_incomplete_one(history):
    result = run_backtest(from_month="2024-06", to_month="2024-08", save=False)

    august = result["months"][2]
    assert (august["month"], august["complete"], august["population"]) == ("2024-08", False, 7)
    # Customer 4's dismissal (made 5 Aug) covers 31 Aug only.
    assert (august["current"]["flagged"], august["current"]["dismissed"]) == (3, 1)
    assert result["complete_months"] == 2
    assert result["defectors"] == 9
    assert result["totals"] == {
        "current": figures(8, 1, 1, 0.875, 0.7778, 0.8235),
        "plain": figures(9, 2, 1, 0.7778, 0.7778, 0.7778),
    }


def test_a_month_is_complete_once_the_data_reaches_the_end_of_its_horizon(history):
    # 31 Aug 2024 + 168 days = 15 Feb 2025, the latest purchase; one day more is past it.
    assert run_backtest(from_month="2024-08", to_month="2024-08", horizon_days=168, save=False)["months"][0]["complete"]
    result = run_backtest(from_month="2024-08", to_month="2024-08", horizon_days=169, save=False)
    assert result["months"][0]["complete"] is False
    assert result["totals"]["current"] == figures(0, 0, 0, None, None, None)
    assert result["suggestions"] == []


def test_the_horizon_runs_from_the_end_of_the_as_of_day_to_the_end_of_its_last_day(db):
    DetectionSettings.objects.update_or_create(pk=1, defaults=RULES)
    zone = ZoneInfo(settings.TIME_ZONE)
    returns = {
        "last second of the horizon": dt.datetime(2024, 12, 27, 23, 59, 59, tzinfo=zone),  # false alarm
        "first second after it": dt.datetime(2024, 12, 28, 0, 0, tzinfo=zone),  # a defector
        "first second after the as-of day": dt.datetime(2024, 7, 1, 0, 0, tzinfo=zone),  # false alarm
    }
    for name, back in returns.items():
        customer = CustomerFactory(name=name, segment=None)
        TransactionFactory(customer=customer, occurred_at=noon(2024, 1, 15))
        TransactionFactory(customer=customer, occurred_at=back)

    june = run_backtest(from_month="2024-06", to_month="2024-06", save=False)["months"][0]

    assert (june["complete"], june["population"], june["defectors"]) == (True, 3, 1)
    assert june["current"] == figures(3, 2, 0, 0.3333, 1.0, 0.5)


def test_the_suggestion_for_a_segment_maximises_f1_with_the_rhythm_rule(history):
    result = run_backtest(from_month="2024-06", to_month="2024-08", save=False)

    retail = Segment.objects.get(name="Retail")
    by_key = {item["segment_key"]: item for item in result["suggestions"]}
    assert by_key[retail.pk] == {
        "segment_key": retail.pk,
        "segment": "Retail",
        "defected_days": 75,
        "rhythm_enabled": True,
        "rhythm_multiple": "4.0",
        "f1": 0.8,
        "current_f1": 0.6667,
        "false_alarms": 0,
        "current_false_alarms": 1,
    }
    # Without a segment every customer was a defector: flag the most (fewest days, plain rule).
    assert by_key[0]["segment"] == "Without a segment"
    assert (by_key[0]["defected_days"], by_key[0]["rhythm_enabled"]) == (75, False)
    assert (by_key[0]["f1"], by_key[0]["current_f1"]) == (0.9091, 0.9091)


def test_a_segment_without_customers_gets_no_suggestion(history):
    SegmentFactory(name="Empty", **RULES)

    result = run_backtest(from_month="2024-06", to_month="2024-07", save=False)

    assert {item["segment"] for item in result["suggestions"]} == {"Retail", "Without a segment"}


def test_a_segment_whose_saved_rule_is_already_the_best_gets_no_suggestion(history):
    Segment.objects.filter(name="Retail").update(defected_days=75, rhythm_multiple=Decimal("4.0"))

    result = run_backtest(from_month="2024-06", to_month="2024-07", save=False)

    assert [item["segment"] for item in result["suggestions"]] == ["Without a segment"]


def test_changing_the_saved_rules_changes_the_current_column_only(history):
    Segment.objects.filter(name="Retail").update(rhythm_enabled=False)

    june = run_backtest(from_month="2024-06", to_month="2024-06", save=False)["months"][0]

    assert june["current"] == june["plain"] == JUNE["plain"]


def test_the_backtest_reads_one_query_per_month(history, django_assert_max_num_queries):
    assert number_purchases_first() > 0  # the history's purchases, as an import would leave them
    with django_assert_max_num_queries(4 + 3 + 1):  # + the probe for purchases without a gap
        run_backtest(from_month="2024-06", to_month="2024-08", save=False)


def test_the_command_prints_the_table_writes_csv_and_saves_the_run(history, tmp_path, capsys):
    path = tmp_path / "backtest.csv"

    call_command("backtest_detection", "--from", "2024-06", "--to", "2024-08", "--csv", str(path))

    out = capsys.readouterr().out
    lines = out.splitlines()
    assert next(line for line in lines if line.startswith("2024-06 ")).split() == [
        "2024-06", "7", "4", "1", "0.750", "0.750", "0.750", "5", "2", "0.600", "0.750", "0.667",
    ]  # fmt: skip
    assert next(line for line in lines if line.startswith("2024-08*"))
    assert next(line for line in lines if line.startswith("Total")).split() == [
        "Total", "14", "8", "1", "0.875", "0.778", "0.824", "9", "2", "0.778", "0.778", "0.778",
    ]  # fmt: skip
    assert "left out of the totals and the suggestions: 2024-08." in out
    assert "Retail" in next(line for line in lines if "75 days, rhythm × 4.0" in line)

    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["month"] for row in rows] == ["2024-06", "2024-07", "2024-08"]
    assert rows[0] == {
        "month": "2024-06",
        "as_of": "2024-06-30",
        "complete": "1",
        "population": "7",
        "defectors": "4",
        "current_flagged": "4",
        "current_false_alarms": "1",
        "current_dismissed": "1",
        "current_precision": "0.75",
        "current_recall": "0.75",
        "current_f1": "0.75",
        "plain_flagged": "5",
        "plain_false_alarms": "2",
        "plain_dismissed": "1",
        "plain_precision": "0.6",
        "plain_recall": "0.75",
        "plain_f1": "0.6667",
    }
    assert rows[2]["complete"] == "0"

    run = BacktestRun.objects.get()
    assert (run.from_month, run.to_month, run.horizon_days) == (dt.date(2024, 6, 1), dt.date(2024, 8, 1), 180)
    assert run.result["months"][:2] == [JUNE, JULY]
    assert run.result["totals"]["current"]["f1"] == 0.8235
    assert {item["segment"] for item in run.result["suggestions"]} == {"Retail", "Without a segment"}
    assert f"Saved as backtest #{run.pk}." in out


def test_the_command_saves_nothing_with_no_save(history, capsys):
    call_command("backtest_detection", "--from", "2024-06", "--to", "2024-06", "--no-save")

    assert BacktestRun.objects.count() == 0
    assert "Saved as" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--from", "2024-13", "--to", "2024-12"], "--from must be a month like 2025-01, not '2024-13'."),
        (["--from", "2024-01", "--to", "June"], "--to must be a month like 2025-01, not 'June'."),
        (["--from", "2024-05", "--to", "2024-03"], "--from (2024-05) is after --to (2024-03)."),
        (["--from", "2024-01", "--to", "2024-02", "--horizon-days", "0"], "--horizon-days must be at least 1, not 0."),
        (["--from", "2000-01", "--to", "2024-02"], "A backtest covers at most 120 months."),
    ],
)
def test_the_command_refuses_bad_arguments_with_a_clear_message(db, arguments, message):
    with pytest.raises(CommandError) as error:
        call_command("backtest_detection", *arguments)

    assert str(error.value) == message
    assert BacktestRun.objects.count() == 0


def test_an_empty_database_gives_empty_incomplete_months(db):
    result = run_backtest(from_month="2024-06", to_month="2024-06", save=False)

    assert result["months"][0]["population"] == 0
    assert result["months"][0]["complete"] is False
    assert result["latest_purchase"] is None


@pytest.mark.integration
def test_the_embedded_sqlite_default_gives_the_same_answer(history, tmp_path):
    env = clean_env(
        DJANGO_SETTINGS_MODULE="winback.settings.local", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}"
    )
    run_manage("migrate", "--noinput", "-v0", env=env)
    run_manage("shell", "-c", "from customers.tests.test_backtest import build_history; build_history()", env=env)
    path = tmp_path / "sqlite.csv"

    run_manage("backtest_detection", "--from", "2024-06", "--to", "2024-08", "--csv", str(path), env=env)

    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    expected = run_backtest(from_month="2024-06", to_month="2024-08", save=False)["months"]
    assert [row["population"] for row in rows] == [str(month["population"]) for month in expected]
    for row, month in zip(rows, expected, strict=True):
        for name in ("current", "plain"):
            for measure in ("flagged", "false_alarms", "dismissed", "f1"):
                value = month[name][measure]
                assert row[f"{name}_{measure}"] == ("" if value is None else str(value))
