"""The facts a health review of a won-back customer looks at (intensive care, DESIGN.md): purchases
since the win-back (count and net revenue), support contacts and complaints since then, the last
purchase and the customer's current status. Three queries, whatever the history's size."""

from decimal import Decimal

from django.db.models import Case as CaseWhen
from django.db.models import Count, DecimalField, F, Max, Q, Sum, When

from cases.models import Case
from customers.models import Interaction, Transaction

MONEY = DecimalField(max_digits=16, decimal_places=2)
RECENT_CONTACTS = 5


def health_review_facts(case: Case) -> dict:
    """`case` with its customer loaded (select_related) saves a query."""
    customer = case.customer
    since = case.won_back_at or case.closed_at or case.opened_at
    signed = CaseWhen(When(kind=Transaction.Kind.REFUND, then=-F("amount")), default=F("amount"), output_field=MONEY)
    purchases = Transaction.objects.filter(customer_id=customer.pk, occurred_at__gte=since).aggregate(
        count=Count("pk", filter=Q(kind=Transaction.Kind.PURCHASE)),
        refunds=Count("pk", filter=Q(kind=Transaction.Kind.REFUND)),
        revenue=Sum(signed),
        last=Max("occurred_at", filter=Q(kind=Transaction.Kind.PURCHASE)),
    )
    contacts = Interaction.objects.filter(
        customer_id=customer.pk,
        occurred_at__gte=since,
        kind__in=[Interaction.Kind.SUPPORT_REQUEST, Interaction.Kind.COMPLAINT],
    )
    counts = contacts.aggregate(
        support=Count("pk", filter=Q(kind=Interaction.Kind.SUPPORT_REQUEST)),
        complaints=Count("pk", filter=Q(kind=Interaction.Kind.COMPLAINT)),
        unanswered=Count("pk", filter=Q(status=Interaction.Status.OPEN)),
    )
    return {
        "since": since,
        "purchases": purchases["count"],
        "refunds": purchases["refunds"],
        "revenue": purchases["revenue"] or Decimal("0"),
        "last_purchase_at": customer.last_purchase_at or purchases["last"],
        "support_contacts": counts["support"],
        "complaints": counts["complaints"],
        "unanswered": counts["unanswered"],
        "recent_contacts": list(contacts.order_by("-occurred_at", "-id")[:RECENT_CONTACTS]),
        "status": customer.status,
        "status_label": customer.get_status_display(),
        "relapsed": customer.status in ("at_risk", "defected"),
    }
