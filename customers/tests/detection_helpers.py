"""Building purchase histories for the detection tests: days are business-time-zone dates."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings

from customers.detection.engine import run_detection
from customers.models import Customer, Interaction, Transaction
from customers.tests.factories import CustomerFactory, SegmentFactory

TODAY = dt.date(2026, 6, 15)
NOON_TODAY = dt.datetime(2026, 6, 15, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))


def at_noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=ZoneInfo(settings.TIME_ZONE))


def days_ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


def segment(name="Retail", *, at_risk=60, defected=90, rhythm=False, multiple="3.0", drop=50, min_orders=4):
    seg = SegmentFactory(name=name)
    seg.at_risk_days, seg.defected_days, seg.rhythm_enabled = at_risk, defected, rhythm
    seg.rhythm_multiple, seg.rate_drop_percent, seg.rate_drop_min_orders = Decimal(multiple), drop, min_orders
    seg.save()
    return seg


def customer_buying(seg, *ages: int, amount="100.00", **fields) -> Customer:
    """A customer of the segment with a purchase this many days before TODAY, for each age."""
    customer = CustomerFactory(segment=seg, **fields)
    for age in ages:
        buy(customer, days_ago(age), amount)
    return customer


def buy(customer: Customer, day: dt.date, amount="100.00", kind=Transaction.Kind.PURCHASE) -> Transaction:
    transaction = Transaction.objects.create(
        customer=customer, occurred_at=at_noon(day), amount=Decimal(amount), kind=kind
    )
    Customer.objects.filter(pk=customer.pk).update(metrics_stale=True)
    return transaction


def cancel(customer: Customer, day: dt.date) -> Interaction:
    interaction = Interaction.objects.create(
        customer=customer,
        occurred_at=at_noon(day),
        kind=Interaction.Kind.CANCELLATION,
        summary="Please cancel my subscription.",
    )
    Customer.objects.filter(pk=customer.pk).update(metrics_stale=True, last_cancellation_at=at_noon(day))
    return interaction


detect = run_detection


def status_of(customer: Customer) -> str:
    return Customer.objects.values_list("status", flat=True).get(pk=customer.pk)
