"""The recompute of every customer's figures on two connections (big purchase tables) gives the
same figures and scores as the single-connection pass. The second connection sees committed data
only, so these tests commit (transactional_db)."""

import pytest
import time_machine
from django.db import connection

from customers.models import Customer, DetectionRun
from customers.tests.detection_helpers import NOON_TODAY, buy, customer_buying, days_ago, detect, segment

pytestmark = pytest.mark.django_db(transaction=True)


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
        cursor.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'detect_figures_part_%%'")
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
