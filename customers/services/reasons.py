"""Recording why a customer left: the primary reason and the fault of a defection event, as
confirmed by a person. Surveys (the reviewer) and cases (the owner) both call this."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import DefectionEvent, Fault, Reason, ReasonChange

__all__ = ["set_event_reason"]


@transaction.atomic
def set_event_reason(
    *, event: DefectionEvent, reason: str, fault: str, actor, source: str, note: str = ""
) -> ReasonChange:
    """Sets the event's primary reason and fault (the most recent confirmation wins) and keeps
    the change, with who made it, in the event's history. Callers check permission first."""
    errors = {}
    if reason not in Reason.values:
        errors["reason"] = _("Choose a reason from the list.")
    if fault not in Fault.values:
        errors["fault"] = _("Choose whose fault it was, or “unknown”.")
    if source not in ReasonChange.Source.values:
        raise ValueError(f"unknown source {source!r}")
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    DefectionEvent.objects.filter(pk=event.pk).update(primary_reason=reason, fault=fault)
    event.primary_reason, event.fault = reason, fault
    return ReasonChange.objects.create(
        event=event,
        primary_reason=reason,
        fault=fault,
        source=source,
        changed_by=actor if getattr(actor, "is_authenticated", False) else None,
        changed_at=now,
        note=note.strip()[:500],
    )
