"""The customer card panel on email deliverability: whether the address is suppressed (why,
since when), the customer's last email events (bounces, complaints, staff marks) and the staff
"email invalid" mark. Importing this module also connects the provider webhook's receiver."""

from django.db.models import CharField, Value

from customers.card_panels import CardPanel, register
from surveys import (
    deliverability,  # noqa: F401 - importing it connects the webhook receiver
    policy,
)
from surveys.models import EmailEvent, Suppression
from surveys.policy import can_undo_invalid_mark
from surveys.suppression import email_hash, normalise_email

__all__ = ["deliverability_panel"]

EVENTS_SHOWN = 5
_COLUMNS = ("kind", "when", "detail", "source")


def deliverability_panel(customer, user) -> dict:
    """One query: the address's suppression (if any) and the last few events, as a UNION."""
    events = EmailEvent.objects.filter(
        pk__in=EmailEvent.objects.filter(customer=customer).order_by("-occurred_at", "-id").values("pk")[:EVENTS_SHOWN]
    ).values_list("kind", "occurred_at", "description", Value("event", output_field=CharField()))
    events = events.order_by()  # no ORDER BY inside a UNION part (SQLite refuses it); sorted below
    rows = events
    if normalise_email(customer.email):
        suppression = (
            Suppression.objects.filter(email_hash=email_hash(customer.email))
            .values_list("reason", "created_at", "note", Value("suppression", output_field=CharField()))
            .order_by()
        )
        rows = suppression.union(events, all=True)
    suppressed = None
    event_list = []
    for kind, when, detail, source in rows:
        if source == "suppression":
            suppressed = {"reason": Suppression.Reason(kind).label, "code": kind, "since": when}
        else:
            event_list.append({"kind": EmailEvent.Kind(kind).label, "code": kind, "when": when, "detail": detail})
    event_list.sort(key=lambda e: e["when"], reverse=True)
    can_mark = policy.can_mark_email_invalid(user, customer) and bool(normalise_email(customer.email))
    return {
        "customer": customer,
        "suppressed": suppressed,
        "events": event_list,
        "can_mark": can_mark and suppressed is None,
        "can_undo": bool(suppressed)
        and suppressed["code"] == Suppression.Reason.INVALID
        and can_undo_invalid_mark(user),
    }


register(
    CardPanel(
        name="survey_deliverability",
        template="surveys/_card_deliverability.html",
        context=deliverability_panel,
        order=20,
    )
)
