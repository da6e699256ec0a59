"""Each purchase keeps its gap to the customer's previous purchase (customers.detection.gaps):
numbered by the run that first sees it, renumbered when a purchase is slotted in before it or an
import moves it, and read by the figures instead of a window over every purchase."""

from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from customers.detection import gaps
from customers.models import Customer, Transaction
from customers.tests.detection_helpers import NOON_TODAY, buy, customer_buying, days_ago, detect, segment

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(NOON_TODAY, tick=False):
        yield


def _gaps(customer: Customer) -> list[tuple[str, float | None]]:
    rows = Transaction.objects.filter(customer=customer).order_by("occurred_at", "id")
    return list(rows.values_list("kind", "gap_days"))


def test_a_run_numbers_each_purchase_with_the_days_since_the_previous_one():
    customer = customer_buying(segment(at_risk=1000, defected=2000), 70, 40, 10)  # all in summer time
    buy(customer, days_ago(20), "5.00", kind=Transaction.Kind.REFUND)
    assert gaps.pending()

    run = detect()

    assert _gaps(customer) == [("purchase", -1.0), ("purchase", 30.0), ("refund", None), ("purchase", 30.0)]
    assert run.summary["purchases_numbered"] == 3
    assert not gaps.pending()
    customer.refresh_from_db()
    assert (customer.order_count, customer.median_gap_days) == (3, 30.0)


def test_a_purchase_slotted_in_the_past_renumbers_the_one_after_it():
    customer = customer_buying(segment(at_risk=1000, defected=2000), 70, 50, 10)
    detect()

    buy(customer, days_ago(30))  # between the purchases 50 and 10 days ago
    run = detect()

    assert [gap for _, gap in _gaps(customer)] == [-1.0, 20.0, 20.0, 20.0]
    assert run.summary["purchases_numbered"] == 2  # the new purchase and the one after it
    customer.refresh_from_db()
    assert (customer.order_count, customer.median_gap_days) == (4, 20.0)


def test_a_second_run_numbers_nothing_and_rewrites_no_purchase():
    customer_buying(segment(), 30, 20, 5)
    detect()
    before = list(Transaction.objects.order_by("pk").values_list("pk", "gap_days"))

    assert gaps.number_purchases() == 0
    assert list(Transaction.objects.order_by("pk").values_list("pk", "gap_days")) == before


def test_an_import_that_moves_a_purchase_renumbers_its_customer(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    customer = customer_buying(segment(at_risk=1000, defected=2000), external_id="C1")
    path = tmp_path / "tx.csv"
    path.write_text(
        "customer_id,occurred_at,amount,external_id\nC1,2026-01-01,10.00,T1\nC1,2026-01-11,10.00,T2\n"
        "C1,2026-02-10,10.00,T3\n",
        encoding="utf-8",
    )
    call_command("import_transactions", str(path), stdout=StringIO())
    detect()
    assert [gap for _, gap in _gaps(customer)] == [-1.0, 10.0, 30.0]

    path.write_text("customer_id,occurred_at,amount,external_id\nC1,2026-01-21,10.00,T2\n", encoding="utf-8")
    call_command("import_transactions", str(path), stdout=StringIO())  # T2 moves ten days later
    assert Transaction.objects.get(external_id="T2").gap_days is None
    detect()

    assert [gap for _, gap in _gaps(customer)] == [-1.0, 20.0, 20.0]
    customer.refresh_from_db()
    assert customer.median_gap_days == 20.0


def test_a_replay_takes_the_median_of_the_gaps_before_its_day_only():
    customer = customer_buying(segment(at_risk=1000, defected=2000), 300, 290, 270, 5)
    detect(as_of=days_ago(100))  # the purchase five days ago (gap 265) is after the replayed day

    customer.refresh_from_db()
    assert (customer.order_count, customer.median_gap_days) == (3, 15.0)  # the median of 10 and 20
    assert [gap for _, gap in _gaps(customer)] == [-1.0, 10.0, 20.0, 265.0]


def test_an_import_that_appends_purchases_numbers_them_itself(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    first = customer_buying(segment(at_risk=1000, defected=2000), external_id="C1")
    second = customer_buying(first.segment, external_id="C2")
    path = tmp_path / "tx.csv"
    path.write_text(
        "customer_id,occurred_at,amount,external_id,kind\nC1,2026-01-01,10.00,T1,purchase\n"
        "C1,2026-01-06,4.00,T2,refund\nC1,2026-01-11,10.00,T3,purchase\nC2,2026-01-02,10.00,T4,purchase\n",
        encoding="utf-8",
    )
    call_command("import_transactions", str(path), stdout=StringIO())
    assert _gaps(first) == [("purchase", -1.0), ("refund", None), ("purchase", 10.0)]
    assert _gaps(second) == [("purchase", -1.0)]

    path.write_text(
        "customer_id,occurred_at,amount,external_id\nC1,2026-01-31,10.00,T5\nC2,2026-01-01,10.00,T6\n",
        encoding="utf-8",
    )
    call_command("import_transactions", str(path), stdout=StringIO())

    assert [gap for _, gap in _gaps(first)] == [-1.0, None, 10.0, 20.0]  # appended: numbered at once
    assert [gap for _, gap in _gaps(second)] == [None, -1.0]  # slotted in before: left to detection
    assert detect().summary["purchases_numbered"] == 2
    assert [gap for _, gap in _gaps(second)] == [-1.0, 1.0]
