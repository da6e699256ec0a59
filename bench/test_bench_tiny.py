"""The benchmark data generator at a tiny size: the files it writes are what the importers expect."""

import csv
import datetime as dt
import re
from collections import Counter

import pytest

from bench import generate

pytestmark = pytest.mark.integration

CUSTOMERS, TRANSACTIONS, YEARS = 300, 5_000, 3
END = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench-data")
    customers_path, transactions_path = generate.generate(
        out, customers=CUSTOMERS, transactions=TRANSACTIONS, years=YEARS, seed=7, end=END
    )
    with customers_path.open(encoding="utf-8", newline="") as f:
        customers = list(csv.reader(f))
    with transactions_path.open(encoding="utf-8", newline="") as f:
        transactions = list(csv.reader(f))
    return {"customers": customers, "transactions": transactions, "paths": (customers_path, transactions_path)}


def test_the_customers_file_has_the_header_and_one_row_per_customer(files):
    header, *rows = files["customers"]
    assert header == ["customer_id", "name", "email", "segment"]
    assert len(rows) == CUSTOMERS
    ids = [row[0] for row in rows]
    assert ids[0] == "C0000001"
    assert all(re.fullmatch(r"C\d{7}", customer_id) for customer_id in ids)
    assert len(set(ids)) == CUSTOMERS
    assert len({row[2] for row in rows}) == CUSTOMERS  # emails are unique too
    assert {row[3] for row in rows} <= set(generate.SEGMENTS)


def test_the_transactions_file_has_the_header_and_the_requested_rows(files):
    header, *rows = files["transactions"]
    assert header == ["customer_id", "occurred_at", "amount", "external_id", "kind"]
    assert len(rows) == TRANSACTIONS
    assert all(len(row) == 5 for row in rows)


def test_every_transaction_belongs_to_a_customer_in_the_customers_file(files):
    customer_ids = {row[0] for row in files["customers"][1:]}
    assert {row[0] for row in files["transactions"][1:]} <= customer_ids


def test_transaction_ids_are_unique_per_customer(files):
    pairs = Counter((row[0], row[3]) for row in files["transactions"][1:])
    assert max(pairs.values()) == 1
    assert all(re.fullmatch(r"T\d{9}", row[3]) for row in files["transactions"][1:])


def test_dates_parse_with_an_offset_and_lie_within_the_last_years_in_time_order(files):
    times = [dt.datetime.fromisoformat(row[1]) for row in files["transactions"][1:]]
    assert all(moment.utcoffset() is not None for moment in times)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", row[1]) for row in files["transactions"][1:])
    assert min(times) >= END - dt.timedelta(days=365 * YEARS)
    assert max(times) < END
    assert times == sorted(times)


def test_amounts_are_positive_with_two_decimals(files):
    amounts = [row[2] for row in files["transactions"][1:]]
    assert all(re.fullmatch(r"[1-9]\d*\.\d\d", amount) for amount in amounts)


def test_about_two_percent_are_refunds_and_the_rest_purchases(files):
    kinds = Counter(row[4] for row in files["transactions"][1:])
    assert set(kinds) == {"purchase", "refund"}
    assert 0.01 < kinds["refund"] / TRANSACTIONS < 0.03


def test_purchases_per_customer_are_skewed(files):
    per_customer = sorted(Counter(row[0] for row in files["transactions"][1:]).values(), reverse=True)
    top_tenth = sum(per_customer[: CUSTOMERS // 10])
    # The busiest tenth of the customers makes far more than a tenth of the purchases.
    assert top_tenth / TRANSACTIONS > 0.3
    assert per_customer[len(per_customer) // 2] < TRANSACTIONS / CUSTOMERS


def test_the_same_seed_writes_the_same_files(files, tmp_path):
    again = generate.generate(tmp_path, customers=CUSTOMERS, transactions=TRANSACTIONS, years=YEARS, seed=7, end=END)
    for first, second in zip(files["paths"], again, strict=True):
        assert first.read_bytes() == second.read_bytes()


def test_no_partial_files_are_left_behind(files):
    folder = files["paths"][0].parent
    assert sorted(path.name for path in folder.iterdir()) == ["customers.csv", "transactions.csv"]


def test_transactions_are_written_in_chunks_without_changing_the_rows(tmp_path):
    start = int((END - dt.timedelta(days=365)).timestamp())
    end = int(END.timestamp())
    path = tmp_path / "small_chunks.csv"
    rows = generate.write_transactions(path, 50, 1_001, seed=3, start=start, end=end, chunk_rows=100)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert rows == 1_001
    assert len(lines) == 1_002
    assert lines[-1].split(",")[3] == "T000001001"


def test_the_detection_bench_writes_new_purchases_of_existing_customers_within_the_day(tmp_path):
    from bench.detect_bench import write_new_transactions

    start = dt.datetime(2026, 3, 1, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    end = start + dt.timedelta(hours=10)
    path = tmp_path / "new.csv"
    write_new_transactions(path, customers=CUSTOMERS, rows=1_000, start=start, end=end)
    with path.open(encoding="utf-8", newline="") as f:
        header, *rows = list(csv.reader(f))
    assert header == ["customer_id", "occurred_at", "amount", "external_id", "kind"]
    assert len(rows) == 1_000
    assert {int(row[0][1:]) for row in rows} <= set(range(1, CUSTOMERS + 1))
    assert all(re.fullmatch(r"C\d{7}", row[0]) for row in rows)
    times = [dt.datetime.fromisoformat(row[1]) for row in rows]
    assert all(start <= moment < end for moment in times)
    assert times == sorted(times)
    assert all(re.fullmatch(r"[1-9]\d*\.\d\d", row[2]) for row in rows)
    # Ids the generated files never use, so the import adds every row.
    assert len({row[3] for row in rows}) == 1_000
    assert all(row[3].startswith("N") for row in rows)
    assert {row[4] for row in rows} == {"purchase"}


@pytest.mark.django_db
def test_the_pages_bench_adds_cases_set_based_and_times_each_page_with_a_fixed_query_count(tmp_path):
    from bench.cases_data import HEAVY_HISTORY, add_cases
    from bench.pages_bench import load_small, measure, report
    from cases.models import Case, CaseEvent

    load_small(*generate.generate(tmp_path, customers=CUSTOMERS, transactions=TRANSACTIONS, years=YEARS, seed=7))
    data = add_cases(cases=60, closed=15, managers=4, heavy=3)
    assert Case.objects.filter(is_open=True).count() == 60
    assert Case.objects.filter(is_open=False).count() == 15
    assert Case.objects.filter(is_open=True, owner__isnull=True).exists()  # the unassigned pool
    assert set(Case.objects.exclude(owner=None).values_list("owner", flat=True)) <= set(data.managers)
    assert all(CaseEvent.objects.filter(case_id=pk).count() > HEAVY_HISTORY for pk in data.heavy_cases)
    assert len(data.light_cases) == 3

    results = measure(data, requests=4)
    assert report(results, requests=4) in (True, False)  # the table prints whatever the figures
    assert [(r.page, r.viewer) for r in results] == [
        ("queue (cases:queue)", "administrator (all cases)"),
        ("queue (cases:queue)", "account managers (own share)"),
        ("board (cases:board)", "administrator (all cases)"),
        ("board (cases:board)", "account managers (own share)"),
        ("case page", "owner, heavy cases"),
        ("case page", "owner, ordinary cases"),
    ]
    for result in results:
        assert result.statuses == {200}, (result.page, result.viewer, result.statuses)
        assert len(result.times_ms) == 4
        assert result.fixed_queries, (result.page, result.viewer, result.queries)


@pytest.mark.django_db
def test_the_dashboard_bench_shapes_the_history_refreshes_the_facts_and_times_the_page_per_filter(tmp_path):
    from bench.cases_data import add_cases
    from bench.dashboard_bench import measure_page, report, time_aggregate, time_refresh
    from bench.dashboard_data import ACTIONS, shape
    from bench.pages_bench import load_small
    from cases.models import CorrectiveAction
    from customers.models import DefectionEvent
    from surveys.models import Invitation
    from winback.dashboard.models import CustomerMonth, DefectionMonth

    load_small(*generate.generate(tmp_path, customers=CUSTOMERS, transactions=TRANSACTIONS, years=YEARS, seed=7))
    add_cases(cases=40, closed=10, managers=3, heavy=2)
    counts = shape()
    assert counts["history events"] > 0
    months = {event.as_of.replace(day=1) for event in DefectionEvent.objects.all()}
    assert len(months) >= 6  # spread over the history, not only the cases' last 60 days
    assert DefectionEvent.objects.filter(status="recovered", recovered_at__isnull=False).count() > 10
    assert Invitation.objects.filter(status="sent", sent_at__isnull=False).count() > 0
    assert Invitation.objects.filter(responded_at__isnull=False).exists()
    assert CorrectiveAction.objects.count() == len(ACTIONS)
    assert set(shape()) == {"seconds"}  # shaping again adds nothing

    assert len(time_aggregate(1)) == 1
    seconds, timer, run = time_refresh(1)
    assert run.status == "done"
    assert timer.statements
    assert CustomerMonth.objects.exists()
    assert DefectionMonth.objects.exists()

    pages = measure_page(2)
    assert report([1.0], seconds, timer, run, pages, 2) in (True, False)  # the table prints whatever the figures
    assert [r.viewer for r in pages] == [
        "executive, default period",
        pages[1].viewer,
        pages[2].viewer,
        "executive, a segment",
        "executive, an account manager",
    ]
    assert pages[1].viewer.startswith("executive, quarter ")
    assert pages[2].viewer.startswith("executive, year ")
    for result in pages:
        assert result.statuses == {200}, (result.viewer, result.statuses, result.error)
        assert len(result.times_ms) == 2
        assert result.fixed_queries, (result.viewer, result.queries)
        assert not result.reads_transactions, result.viewer  # the page reads the fact tables only
