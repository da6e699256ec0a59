"""The case state machine: the one place that decides which stage moves are allowed and what they
need. The case page, the board (htmx and its plain-form fallback), detection's automatic win-back
and the admin all move stages through move().

    new ─► contacting ─► diagnosed ─► offer made ─► won back | lost | let go
    (any open stage may go to any other open stage except back to "new", and to any outcome;
     a closed case may be reopened to an open stage)

- "diagnosed" needs a reason (already on the case, or given with the move);
- "offer made" needs an offer on the case (open or accepted);
- "lost" and "let go" need a note saying why; "won back" by hand needs a note;
  detection's automatic win-back gives its own;
- reopening needs a note and is refused while the customer has another open case.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import CLOSED_STAGES, OPEN_STAGES, Case, CaseEvent, Offer, Stage
from cases.services import history


@dataclass(frozen=True)
class Move:
    to: str
    reopen: bool


def allowed_targets(case: Case) -> list[str]:
    """The stages this case may move to (whether the move's requirements are met is checked by
    check())."""
    if case.stage in CLOSED_STAGES:
        return [stage for stage in OPEN_STAGES if stage != Stage.NEW]
    return [stage for stage in Stage.values if stage not in (case.stage, Stage.NEW)]


def check(case: Case, to: str, *, note: str = "", reason: str = "", automatic: bool = False) -> dict[str, str]:
    """The problems with moving `case` to `to`, by form field ("stage", "note", "reason"); empty
    when the move is allowed."""
    if to not in Stage.values:
        return {"stage": _("Choose a stage from the list.")}
    if to == case.stage:
        return {"stage": _("The case is already at this stage.")}
    if to not in allowed_targets(case):
        if to == Stage.NEW:
            return {"stage": _("A case cannot go back to “new”; choose “contacting” instead.")}
        return {"stage": _("A closed case can only be reopened to an open stage.")}
    note = (note or "").strip()
    errors: dict[str, str] = {}
    if case.stage in CLOSED_STAGES:
        if not note:
            errors["note"] = _("Say why the case is reopened.")
        if Case.objects.filter(customer_id=case.customer_id, is_open=True).exclude(pk=case.pk).exists():
            errors["stage"] = _("This customer already has an open case; work on that one.")
        return errors
    if to == Stage.DIAGNOSED and not (reason or case.primary_reason):
        errors["reason"] = _("Record the reason the customer left before marking the case diagnosed.")
    if (
        to == Stage.OFFER_MADE
        and not case.offers.filter(status__in=[Offer.Status.OPEN, Offer.Status.ACCEPTED]).exists()
    ):
        errors["stage"] = _("Make an offer on the case page first.")
    if to in (Stage.LOST, Stage.LET_GO) and not note:
        errors["note"] = _("Say why the case is closed as “%(stage)s”.") % {"stage": Stage(to).label}
    if to == Stage.WON_BACK and not note and not automatic:
        errors["note"] = _("Add a note on how the customer was won back.")
    return errors


@transaction.atomic
def move(
    case: Case,
    to: str,
    *,
    actor,
    note: str = "",
    reason: str = "",
    fault: str = "",
    automatic: bool = False,
    won_back_at=None,
) -> Case:
    """Validates and performs the move, with its history entry. Raises ValidationError (by field)
    when the move is not allowed; nothing changes then. The caller checks permission first.
    `won_back_at` (detection: the purchase that won the customer back) defaults to now; the
    recovered revenue counts from it."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    errors = check(case, to, note=note, reason=reason, automatic=automatic)
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    before = {"stage": case.stage}
    reopening = case.stage in CLOSED_STAGES
    note = (note or "").strip()
    if reason:
        from cases.services.reasons import record_reason

        record_reason(case, reason=reason, fault=fault or case.fault, actor=actor)
    case.stage = to
    if to in CLOSED_STAGES:
        case.is_open = False
        case.closed_at = now
        case.deadline_at = None
        case.close_note = note
        if to == Stage.WON_BACK:
            case.won_back_at = won_back_at or now
    else:
        case.is_open = True
        if reopening:
            case.closed_at = None
            case.won_back_at = None
            case.close_note = ""
            case.reopened_count += 1
        if case.first_contact_at is None and to != Stage.NEW:
            case.first_contact_at = now
        case.deadline_at = case.due_at if case.first_contact_at else case.first_contact_due
    case.save()
    kind = CaseEvent.Kind.REOPENED if reopening else CaseEvent.Kind.STAGE
    summary = _("Moved from “%(old)s” to “%(new)s”") % {"old": Stage(before["stage"]).label, "new": Stage(to).label}
    if note:
        summary = f"{summary}: {note}"
    history.record(case, kind, summary, actor=actor, before=before, after={"stage": to, "note": note})
    if to == Stage.WON_BACK:
        from cases.services.care import schedule_health_reviews

        schedule_health_reviews(case, start=case.won_back_at)
    return case
