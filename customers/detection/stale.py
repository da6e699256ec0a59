"""What writers of purchases and contacts tell detection: these customers' figures are stale (the
next run recomputes them), and a cancellation makes the customer an active defector at that run."""

from django.db.models import OuterRef, Subquery

from customers.models import Interaction


def note_interactions(customers) -> int:
    """Marks the customers (a queryset) stale and sets their latest cancellation from the table."""
    latest = (
        Interaction.objects.filter(customer=OuterRef("pk"), kind=Interaction.Kind.CANCELLATION)
        .order_by("-occurred_at")
        .values("occurred_at")[:1]
    )
    return customers.update(metrics_stale=True, last_cancellation_at=Subquery(latest))


def note_purchases(customers) -> int:
    """Marks the customers (a queryset) stale after their purchases changed."""
    return customers.filter(metrics_stale=False).update(metrics_stale=True)
