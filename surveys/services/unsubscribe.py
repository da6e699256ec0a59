"""The one-click unsubscribe (RFC 8058) behind every survey email's List-Unsubscribe header and
visible link: the opt-out takes effect at once and is honoured by every later job (PRIV-01..03)."""

from django.db import transaction
from django.utils import timezone

from customers.models import Customer
from surveys.models import EmailEvent, Suppression
from surveys.suppression import is_suppressed, suppress

__all__ = ["unsubscribe_customer"]


@transaction.atomic
def unsubscribe_customer(*, customer_id: int, now=None) -> bool:
    """Opts the customer out of survey mail: their address goes on the suppression list (keyed on
    its hash, so a re-import stays suppressed), `survey_opt_out_at` is set and an "unsubscribed"
    email event is recorded. Idempotent: a repeat changes nothing. False when the customer no
    longer exists (the caller shows the same page either way)."""
    now = now or timezone.now()
    customer = Customer.objects.select_for_update().filter(pk=customer_id).first()
    if customer is None:
        return False
    changed = False
    if customer.email and not is_suppressed(customer.email):
        suppress(customer.email, Suppression.Reason.UNSUBSCRIBED, customer=customer, note="one-click unsubscribe")
        changed = True
    if customer.survey_opt_out_at is None:
        customer.survey_opt_out_at = now
        customer.save(update_fields=["survey_opt_out_at", "updated_at"])
        changed = True
    if changed:
        EmailEvent.objects.create(
            kind=EmailEvent.Kind.UNSUBSCRIBED,
            occurred_at=now,
            customer=customer,
            description="One-click unsubscribe from a survey email",
        )
    return True
