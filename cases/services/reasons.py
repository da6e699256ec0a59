"""Recording the reason and fault a case diagnosed: on the case, and on its defection event
through customers (the most recent confirmation by a person wins; the event keeps the history)."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from cases.models import Case, CaseEvent
from cases.services import history
from customers.models import Fault, Reason, ReasonChange
from customers.services.reasons import set_event_reason


def record_reason(case: Case, *, reason: str, fault: str, actor) -> Case:
    errors = {}
    if reason not in Reason.values:
        errors["reason"] = _("Choose a reason from the list.")
    if fault not in Fault.values:
        errors["fault"] = _("Choose whose fault it was, or “unknown”.")
    if errors:
        raise ValidationError(errors)
    if (case.primary_reason, case.fault) == (reason, fault):
        return case
    before = {"reason": case.primary_reason, "fault": case.fault}
    Case.objects.filter(pk=case.pk).update(primary_reason=reason, fault=fault)
    case.primary_reason, case.fault = reason, fault
    if case.event_id:
        set_event_reason(event=case.event, reason=reason, fault=fault, actor=actor, source=ReasonChange.Source.CASE)
    summary = _("Reason: %(reason)s; fault: %(fault)s") % {"reason": Reason(reason).label, "fault": Fault(fault).label}
    history.record(
        case, CaseEvent.Kind.REASON, summary, actor=actor, before=before, after={"reason": reason, "fault": fault}
    )
    return case
