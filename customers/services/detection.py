"""Staff decisions about detection: dismissing a false alarm until a date."""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers import policy
from customers.models import Customer, DefectionEvent, Dismissal, StatusChange

__all__ = ["MAX_DISMISSAL_DAYS", "dismiss_alarm"]

MAX_DISMISSAL_DAYS = 730


@transaction.atomic
def dismiss_alarm(*, customer: Customer, actor, kind: str, note: str, until: dt.date) -> Dismissal:
    """Records that the customer's alarm is false ("seasonal", "contract paused", ...): the
    customer is not flagged again before `until`; an at-risk or defected customer is active
    again (won back, if they once were) and an open defection event is closed."""
    if not policy.can_dismiss_alarm(actor, customer):
        raise PermissionDenied
    today = timezone.localdate()
    note = note.strip()
    errors = {}
    if kind not in Dismissal.Kind.values:
        errors["kind"] = _("Choose why this is a false alarm.")
    if kind == Dismissal.Kind.OTHER and not note:
        errors["note"] = _("Say why, so the next person understands.")
    if until is None or until <= today:
        errors["until"] = _("Choose a day after today.")
    elif until > today + dt.timedelta(days=MAX_DISMISSAL_DAYS):
        errors["until"] = _("Choose a day within two years.")
    if errors:
        raise ValidationError(errors)
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    if locked.status == Customer.Status.LOST:
        raise ValidationError(_("This customer's case was closed as lost; there is no alarm to dismiss."))
    now = timezone.now()
    dismissal = Dismissal.objects.create(customer=locked, kind=kind, note=note, until=until, created_by=actor)
    new_status = locked.status
    if locked.status in (Customer.Status.AT_RISK, Customer.Status.DEFECTED):
        new_status = Customer.Status.WON_BACK if locked.won_back_at else Customer.Status.ACTIVE
    StatusChange.objects.create(
        customer=locked,
        from_status=locked.status,
        to_status=new_status,
        rule=StatusChange.Rule.DISMISSED,
        facts={"kind": kind, "kind_label": str(Dismissal.Kind(kind).label), "note": note, "until": until.isoformat()},
        as_of=today,
        changed_at=now,
        actor=actor,
    )
    DefectionEvent.objects.filter(customer=locked, status=DefectionEvent.Status.OPEN).update(
        status=DefectionEvent.Status.CLOSED,
        status_changed_at=now,
        closed_reason=_("Dismissed as a false alarm: %(kind)s") % {"kind": Dismissal.Kind(kind).label},
    )
    changed = new_status != locked.status
    locked.status, locked.dismissed_at, locked.dismissed_until = new_status, now, until
    if changed:
        locked.status_changed_at = now
    locked.save(update_fields=["status", "status_changed_at", "dismissed_at", "dismissed_until", "updated_at"])
    customer.status, customer.dismissed_until = locked.status, locked.dismissed_until
    return dismissal
