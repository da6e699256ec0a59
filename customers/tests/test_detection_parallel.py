"""The recompute of every customer in halves on two connections (big purchase tables) gives the
same figures, scores, statuses and events as the single-connection pass. The second connection
sees committed data only, so these tests commit (transactional_db; with serialized_rollback, as
the other committing tests, so that those after them find the rows the migrations made)."""

import pytest
import time_machine
from django.db import connection, transaction

from customers.models import Customer, DefectionEvent, DetectionRun, StatusChange
from customers.tests.detection_helpers import (
    NOON_TODAY,
    buy,
    cancel,
    customer_buying,
    days_ago,
    detect,
    segment,
)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(NOON_TODAY, tick=False):
        yield


FIGURES = (
    "first_purchase_at",
    "last_purchase_at",
    "order_count",
    "lifetime_revenue",
    "orders_365d",
    "revenue_365d",
    "orders_prev_365d",
    "orders_90d",
    "orders_90d_base",
    "median_gap_days",
    "annual_value",
    "r_score",
    "f_score",
    "m_score",
)


def _figures() -> list[tuple]:
    return list(Customer.objects.order_by("pk").values_list("pk", *FIGURES))


def _part_tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'detect\\_%%\\_part\\_%%'")
        return [row[0] for row in cursor.fetchall()]


def _history():
    seg = segment(at_risk=1000, defected=2000)
    customers = [customer_buying(seg, *range(5 + i, 800, 37 + 11 * i), amount=str(20 + 7 * i)) for i in range(12)]
    buy(customers[3], days_ago(2), "15.00", kind="refund")
    customer_buying(seg)  # never bought
    return customers


def test_two_connections_compute_the_same_figures_as_one(settings):
    _history()
    settings.WINBACK_DETECTION_PARALLEL_MIN_TRANSACTIONS = 0
    parallel = detect(full=True)
    assert parallel.summary["figures_updated"] == 13  # 12 buyers, and one who never bought is no longer stale
    assert parallel.summary["figure_connections"] == 2
    computed = _figures()
    assert sum(1 for row in computed if row[1] is not None) == 12
    assert _part_tables() == []

    Customer.objects.update(metrics_stale=True)  # everyone recomputed again, now on one connection
    settings.WINBACK_DETECTION_PARALLEL_MIN_TRANSACTIONS = 10**12
    serial = detect(full=True)
    assert serial.mode == DetectionRun.Mode.FULL
    assert serial.summary["figure_connections"] == 1
    assert _figures() == computed
    assert serial.summary["rfm_cuts"] == parallel.summary["rfm_cuts"]


def test_a_dry_run_on_two_connections_leaves_no_table_behind(settings):
    _history()
    settings.WINBACK_DETECTION_PARALLEL_MIN_TRANSACTIONS = 0
    before = _figures()
    run = detect(full=True, dry_run=True)
    assert run.status == DetectionRun.Status.DONE
    assert run.summary["figures_updated"] == 13
    assert _figures() == before
    assert _part_tables() == []


def _statuses() -> list[tuple]:
    return list(Customer.objects.order_by("pk").values_list("pk", "status", "last_cancellation_at"))


def _changes() -> list[tuple]:
    rows = StatusChange.objects.order_by("customer_id", "id").values_list(
        "customer_id", "from_status", "to_status", "rule"
    )
    return list(rows)


def _events() -> list[tuple]:
    return list(DefectionEvent.objects.order_by("customer_id", "id").values_list("customer_id", "kind", "status"))


def test_a_replay_in_halves_flags_the_same_customers_as_one_pass(settings):
    """Customers of every outcome in both halves of the ids: at risk, defected, cancelled (the
    cancellation is read as it stood on the replayed day), active, never bought."""
    seg = segment(at_risk=60, defected=90)
    ages = [(5, 40, 80), (70, 120), (100, 200, 300), (3,), ()]
    customers = [customer_buying(seg, *ages[i % len(ages)], amount=str(30 + i)) for i in range(20)]
    cancel(customers[3], days_ago(20))  # first half: defected (active) on the day
    cancel(customers[18], days_ago(20))  # second half
    cancel(customers[8], days_ago(1))  # after the replayed day: not yet
    day = days_ago(10)
    start = list(Customer.objects.all())

    settings.WINBACK_DETECTION_PARALLEL_MIN_TRANSACTIONS = 10**12
    serial = detect(as_of=day, dry_run=True)
    assert serial.summary["figure_connections"] == 1
    settings.WINBACK_DETECTION_PARALLEL_MIN_TRANSACTIONS = 0
    halves = detect(as_of=day)
    assert halves.summary["figure_connections"] == 2

    ignored = ("seconds", "steps", "figure_connections", "purchases_numbered")  # the dry run numbered them
    assert {k: v for k, v in halves.summary.items() if k not in ignored} == {
        k: v for k, v in serial.summary.items() if k not in ignored
    }
    assert halves.summary["scanned"] == 20
    assert halves.summary["newly_defected_active"] == 2
    assert halves.summary["newly_defected_passive"] > 0
    assert halves.summary["newly_at_risk"] > 0
    statuses = {pk: status for pk, status, _ in _statuses()}
    assert statuses[customers[3].pk] == statuses[customers[18].pk] == "defected"
    cancelled_later = Customer.objects.get(pk=customers[8].pk)
    assert cancelled_later.last_cancellation_at is None  # the cancellation came after the day
    assert _part_tables() == []

    # The same replay on one connection, from the same starting point, writes the same rows.
    replayed = (_figures(), _statuses(), _changes(), _events())
    StatusChange.objects.all().delete()
    DefectionEvent.objects.all().delete()
    DetectionRun.objects.all().delete()
    fields = [field.name for field in Customer._meta.concrete_fields if not field.primary_key]
    Customer.objects.bulk_update(start, fields)
    assert _statuses() != replayed[1]
    settings.WINBACK_DETECTION_PARALLEL_MIN_TRANSACTIONS = 10**12
    detect(as_of=day)
    assert (_figures(), _statuses(), _changes(), _events()) == replayed


def test_a_run_inside_a_callers_transaction_stays_on_one_connection(settings):
    """A second connection would not see the caller's uncommitted changes."""
    _history()
    settings.WINBACK_DETECTION_PARALLEL_MIN_TRANSACTIONS = 0
    with transaction.atomic():
        seg = segment(at_risk=1000, defected=2000)
        uncommitted = customer_buying(seg, 30, 60, amount="70.00")
        run = detect(full=True)
    assert run.summary["figure_connections"] == 1
    assert Customer.objects.get(pk=uncommitted.pk).order_count == 2
    assert _part_tables() == []
