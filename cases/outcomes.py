"""Outcomes: the revenue a won-back customer brought since the win-back (purchases less refunds
after Case.won_back_at) against the cost of the accepted offers, per case and in total."""

from decimal import Decimal

from django.db.models import Case as CaseWhen
from django.db.models import DecimalField, F, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce

from cases.models import Offer
from customers.models import Transaction

MONEY = DecimalField(max_digits=16, decimal_places=2)
ZERO = Value(Decimal("0"), output_field=MONEY)


def recovered_revenue_expression():
    """An annotation for a Case queryset: net purchases of the customer since the case's win-back
    (0 for a case not won back). One correlated subquery on the transactions index."""
    signed = CaseWhen(When(kind=Transaction.Kind.REFUND, then=-F("amount")), default=F("amount"), output_field=MONEY)
    since = (
        Transaction.objects.filter(customer_id=OuterRef("customer_id"), occurred_at__gte=OuterRef("won_back_at"))
        .order_by()
        .values("customer_id")
        .annotate(total=Sum(signed))
        .values("total")
    )
    return Coalesce(Subquery(since, output_field=MONEY), ZERO)


def offer_cost_expression():
    """An annotation for a Case queryset: the cost of its accepted offers."""
    cost = (
        Offer.objects.filter(case_id=OuterRef("pk"), status=Offer.Status.ACCEPTED)
        .order_by()
        .values("case_id")
        .annotate(total=Sum("cost"))
        .values("total")
    )
    return Coalesce(Subquery(cost, output_field=MONEY), ZERO)


def with_outcomes(queryset):
    return queryset.annotate(recovered_revenue=recovered_revenue_expression(), offer_cost=offer_cost_expression())


def won_back_filter() -> Q:
    return Q(won_back_at__isnull=False)
