"""Opening cases: by hand from a customer card, or by the housekeeping job for new defections
(cases.services.housekeeping). One open case per customer (a database constraint); the owner is
the customer's account manager, else the next active manager in turn when round-robin is on,
else nobody (the unassigned pool). Both deadlines are set on opening, in working days."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Case, CaseEvent, CaseSettings
from cases.selectors import active_managers
from cases.services import history
from cases.workdays import add_working_days
from customers.models import Customer, DefectionEvent

User = get_user_model()


def next_round_robin_manager(settings: CaseSettings):
    """The active manager after the last one who got a round-robin case (by id, wrapping round);
    None when there is no active manager. Locks the settings row so two openings take turns."""
    settings = CaseSettings.objects.select_for_update().get(pk=settings.pk)
    managers = active_managers()
    chosen = managers.filter(pk__gt=settings.round_robin_last_id or 0).first() or managers.first()
    if chosen is not None:
        CaseSettings.objects.filter(pk=settings.pk).update(round_robin_last=chosen)
    return chosen


def owner_for(customer: Customer, settings: CaseSettings):
    manager = customer.account_manager
    if manager is not None and manager.is_active:
        return manager
    if settings.round_robin:
        return next_round_robin_manager(settings)
    return None


@transaction.atomic
def open_case(
    *,
    customer: Customer,
    actor=None,
    event: DefectionEvent | None = None,
    previous_case: Case | None = None,
    settings: CaseSettings | None = None,
    now=None,
) -> Case:
    """Opens a case for the customer. Raises ValidationError when the customer already has an
    open case. `event` defaults to the customer's open defection event; `previous_case` marks a
    relapse (detection found a won-back customer defecting again)."""
    settings = settings or CaseSettings.load()
    now = now or timezone.now()
    if event is None:
        event = DefectionEvent.objects.filter(customer=customer, status=DefectionEvent.Status.OPEN).first()
    if Case.objects.filter(customer=customer, is_open=True).exists():
        raise ValidationError(_("This customer already has an open case."))
    owner = owner_for(customer, settings)
    first_contact_due = add_working_days(now, settings.first_contact_working_days)
    case = Case(
        customer=customer,
        segment_id=customer.segment_id,
        event=event,
        owner=owner,
        opened_by=actor if getattr(actor, "is_authenticated", False) else None,
        opened_at=now,
        value_at_stake=(event.lost_revenue if event is not None else customer.annual_value) or 0,
        first_contact_due=first_contact_due,
        due_at=add_working_days(now, settings.deadline_working_days),
        deadline_at=first_contact_due,
        primary_reason=event.primary_reason if event is not None else "",
        relapse=previous_case is not None or bool(event is not None and event.relapse),
        previous_case=previous_case,
    )
    try:
        with transaction.atomic():
            case.save()
    except IntegrityError as error:  # a concurrent opening won the race
        raise ValidationError(_("This customer already has an open case.")) from error
    if owner is None:
        summary = _("Opened; waiting in the unassigned pool")
    else:
        summary = _("Opened for %(owner)s") % {"owner": owner.get_full_name() or owner.get_username()}
    if case.relapse:
        summary = _("%(summary)s (relapse)") % {"summary": summary}
    history.record(case, CaseEvent.Kind.OPENED, summary, actor=actor, after={"owner": owner, "stage": case.stage})
    return case
