"""Who owns a case: a manager takes one from the unassigned pool, an administrator reassigns one
case or many at once. Every change is written to the case's history (kind "owner") in the same
transaction. Access follows ownership on the very next request: the policy reads the owner from
the database each time, so a case reassigned away from a manager is a 404 for them at once
(unless they follow it)."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Case, CaseEvent
from cases.selectors import owner_choices
from cases.services import history

User = get_user_model()

BULK_LIMIT = 500


def _name(user) -> str:
    if user is None:
        return _("the unassigned pool")
    return user.get_full_name() or user.username


def valid_owner(user) -> bool:
    """Cases go to active account managers only (executives take theirs in a rescue cycle)."""
    return user is not None and owner_choices().filter(pk=user.pk).exists()


@transaction.atomic
def case_take(*, case_id: int, actor) -> Case:
    """The manager takes an open case from the pool. Race-safe: one conditional UPDATE claims it
    (owner still empty); a second taker gets a ValidationError saying it is already taken. The
    caller checks policy.can_take_case first."""
    now = timezone.now()
    claimed = Case.objects.filter(pk=case_id, owner__isnull=True, is_open=True).update(owner=actor, updated_at=now)
    if claimed != 1:
        raise ValidationError(_("Someone else has already taken this case."))
    case = Case.objects.get(pk=case_id)
    history.record(
        case,
        CaseEvent.Kind.OWNER,
        _("Taken from the pool by %(name)s") % {"name": _name(actor)},
        actor=actor,
        before={"owner": None},
        after={"owner": actor.pk},
    )
    return case


def _reassign_locked(case: Case, owner, actor) -> bool:
    if case.owner_id == owner.pk:
        return False
    previous = case.owner
    case.owner = owner
    case.save(update_fields=["owner", "updated_at"])
    history.record(
        case,
        CaseEvent.Kind.OWNER,
        _("Reassigned from %(old)s to %(new)s") % {"old": _name(previous), "new": _name(owner)},
        actor=actor,
        before={"owner": previous.pk if previous else None},
        after={"owner": owner.pk},
    )
    return True


@transaction.atomic
def case_reassign(*, case: Case, owner, actor) -> Case:
    """Gives one case to another owner (an active account manager; ValidationError
    otherwise). The caller checks policy.can_reassign_cases."""
    if not valid_owner(owner):
        raise ValidationError(_("Cases can only go to an active account manager."))
    case = Case.objects.select_for_update(of=("self",)).select_related("owner").get(pk=case.pk)
    _reassign_locked(case, owner, actor)
    return case


@transaction.atomic
def cases_bulk_reassign(*, case_ids, owner, actor) -> int:
    """Gives every listed case to `owner`; returns how many changed owner (cases already theirs
    are left alone). All or nothing: an invalid owner, too many cases or an id that does not
    exist raise ValidationError and nothing changes. The caller checks
    policy.can_reassign_cases."""
    case_ids = sorted({int(pk) for pk in case_ids})
    if not case_ids:
        raise ValidationError(_("Choose at least one case."))
    if len(case_ids) > BULK_LIMIT:
        raise ValidationError(_("Reassign at most %(limit)s cases at once.") % {"limit": BULK_LIMIT})
    if not valid_owner(owner):
        raise ValidationError(_("Cases can only go to an active account manager."))
    cases = list(Case.objects.select_for_update(of=("self",)).select_related("owner").filter(pk__in=case_ids))
    if len(cases) != len(case_ids):
        raise ValidationError(_("Some of the chosen cases no longer exist; reload the page and try again."))
    return sum(_reassign_locked(case, owner, actor) for case in cases)
