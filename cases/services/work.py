"""The work on a case from the case page: calls and meetings following the recovery script,
offers and their decision, tasks, and reassignment by an administrator. Every write records its
history entry (cases.services.history) in the same transaction; stage changes go through the state
machine (cases.states.move)."""

import datetime as dt
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import states
from cases.models import Activity, Case, CaseEvent, Offer, Stage, Task
from cases.selectors import owner_choices
from cases.services import history
from cases.services.reasons import record_reason
from winback.roles import Role

User = get_user_model()

SCRIPT_STEPS = ("apologised", "listened", "diagnosed", "helped", "offered")


def display_name(user) -> str:
    if user is None:
        return _("nobody")
    return user.get_full_name() or user.get_username()


def _lock(case: Case) -> Case:
    return Case.objects.select_for_update(of=("self",)).get(pk=case.pk)


# Calls and meetings


@transaction.atomic
def log_activity(
    *,
    case: Case,
    actor,
    kind: str,
    apologised: bool = False,
    listened: bool = False,
    diagnosed: bool = False,
    helped: bool = False,
    offered: bool = False,
    notes: str = "",
    reason: str = "",
    fault: str = "",
) -> Activity:
    """Records a call or meeting. A diagnosis needs the reason and fault, which are recorded on the
    case and its defection event. The first contact on an open case sets first_contact_at (the next
    deadline becomes the overall one) and moves a "new" case to "contacting"."""
    if kind not in (Activity.Kind.CALL, Activity.Kind.MEETING):
        raise ValidationError({"kind": _("Choose a call or a meeting.")})
    if diagnosed and not (reason and fault):
        errors = {}
        if not reason:
            errors["reason"] = _("Record the reason the customer left when you diagnosed it.")
        if not fault:
            errors["fault"] = _("Say whose fault it was, or “unknown”.")
        raise ValidationError(errors)
    case = _lock(case)
    steps = {
        "apologised": apologised,
        "listened": listened,
        "diagnosed": diagnosed,
        "helped": helped,
        "offered": offered,
    }
    activity = Activity.objects.create(
        case=case,
        kind=kind,
        actor=actor,
        notes=notes.strip(),
        reason=reason if diagnosed else "",
        fault=fault if diagnosed else "",
        **steps,
    )
    if diagnosed:
        record_reason(case, reason=reason, fault=fault, actor=actor)
    done = [str(Activity._meta.get_field(step).verbose_name) for step, ticked in steps.items() if ticked]
    summary = _("%(kind)s logged") % {"kind": activity.get_kind_display()}
    if done:
        summary = f"{summary} ({', '.join(done)})"
    if activity.notes:
        summary = f"{summary}: {activity.notes}"
    history.record(
        case,
        CaseEvent.Kind.ACTIVITY,
        summary,
        actor=actor,
        after={"activity": activity.pk, "kind": kind, **steps},
    )
    if case.is_open and case.first_contact_at is None:
        if case.stage == Stage.NEW:
            states.move(case, Stage.CONTACTING, actor=actor, note=_("First contact logged"))
        else:
            Case.objects.filter(pk=case.pk).update(
                first_contact_at=activity.happened_at, deadline_at=case.due_at, updated_at=timezone.now()
            )
    return activity


# Offers


def validate_offer(*, kind: str, value: Decimal, cost: Decimal, expires_on: dt.date, today: dt.date) -> dict:
    errors = {}
    if kind not in Offer.Kind.values:
        errors["kind"] = _("Choose a kind of offer from the list.")
    if value is None or value <= 0:
        errors["value"] = _("The value must be more than 0.")
    elif kind == Offer.Kind.DISCOUNT and not 1 <= value <= 100:
        errors["value"] = _("A discount is a percentage from 1 to 100.")
    if cost is None or cost < 0:
        errors["cost"] = _("The cost to us cannot be negative.")
    if expires_on is None or expires_on < today:
        errors["expires_on"] = _("The offer must expire today or later.")
    return errors


@transaction.atomic
def make_offer(
    *, case: Case, actor, kind: str, value: Decimal, cost: Decimal, expires_on: dt.date, description: str = ""
) -> Offer:
    """Makes an open offer; an open case not yet at "offer made" moves there when the state
    machine allows it."""
    errors = validate_offer(kind=kind, value=value, cost=cost, expires_on=expires_on, today=timezone.localdate())
    if errors:
        raise ValidationError(errors)
    case = _lock(case)
    offer = Offer.objects.create(
        case=case,
        kind=kind,
        value=value,
        cost=cost,
        expires_on=expires_on,
        description=description.strip(),
        created_by=actor,
    )
    summary = _("Offer made: %(kind)s %(value)s (cost %(cost)s), expires %(day)s") % {
        "kind": offer.get_kind_display(),
        "value": value,
        "cost": cost,
        "day": expires_on.isoformat(),
    }
    if offer.description:
        summary = f"{summary}: {offer.description}"
    history.record(
        case,
        CaseEvent.Kind.OFFER,
        summary,
        actor=actor,
        after={"offer": offer.pk, "kind": kind, "value": value, "cost": cost, "expires_on": expires_on},
    )
    if case.is_open and case.stage != Stage.OFFER_MADE and not states.check(case, Stage.OFFER_MADE):
        states.move(case, Stage.OFFER_MADE, actor=actor)
    return offer


@transaction.atomic
def decide_offer(*, offer: Offer, actor, decision: str) -> Offer:
    """Marks an open offer accepted or declined. An offer past its expiry cannot be accepted."""
    if decision not in (Offer.Status.ACCEPTED, Offer.Status.DECLINED):
        raise ValidationError({"decision": _("Choose accepted or declined.")})
    offer = Offer.objects.select_for_update(of=("self",)).select_related("case").get(pk=offer.pk)
    if offer.status != Offer.Status.OPEN:
        raise ValidationError(
            {"decision": _("This offer is already %(status)s.") % {"status": offer.get_status_display().lower()}}
        )
    if decision == Offer.Status.ACCEPTED and offer.expires_on < timezone.localdate():
        raise ValidationError({"decision": _("This offer has expired and can no longer be accepted.")})
    offer.status, offer.decided_at, offer.decided_by = decision, timezone.now(), actor
    offer.save(update_fields=["status", "decided_at", "decided_by"])
    summary = _("Offer %(status)s: %(kind)s %(value)s") % {
        "status": offer.get_status_display().lower(),
        "kind": offer.get_kind_display(),
        "value": offer.value,
    }
    history.record(
        offer.case,
        CaseEvent.Kind.OFFER,
        summary,
        actor=actor,
        before={"offer": offer.pk, "status": Offer.Status.OPEN},
        after={"offer": offer.pk, "status": decision},
    )
    return offer


# Tasks


def assignee_choices(case: Case):
    """Who may get a task on the case: its owner, its followers and every active account manager."""
    follows = Case.followers.through.objects.filter(case_id=case.pk).values("user_id")
    return (
        User.objects.filter(is_active=True)
        .filter(Q(pk=case.owner_id) | Q(pk__in=follows) | Q(groups__name=Role.ACCOUNT_MANAGER.value))
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


@transaction.atomic
def add_task(*, case: Case, actor, title: str, assignee, due_on: dt.date, notes: str = "") -> Task:
    errors = {}
    if not title.strip():
        errors["title"] = _("Say what is to be done.")
    if assignee is None or not assignee_choices(case).filter(pk=assignee.pk).exists():
        errors["assignee"] = _("Choose the owner, a follower or an active account manager.")
    if due_on is None or due_on < timezone.localdate():
        errors["due_on"] = _("The due date must be today or later.")
    if errors:
        raise ValidationError(errors)
    task = Task.objects.create(
        case=case, title=title.strip(), assignee=assignee, due_on=due_on, notes=notes.strip(), created_by=actor
    )
    if assignee.pk != case.owner_id and not case.followers.filter(pk=assignee.pk).exists():
        # The assignee must be able to open the case their task is about.
        case.followers.add(assignee)
        history.record(
            case,
            CaseEvent.Kind.FOLLOWER,
            _("%(who)s follows the case (task assigned)") % {"who": display_name(assignee)},
            actor=actor,
            after={"follower": assignee},
        )
    summary = _("Task for %(who)s by %(day)s: %(title)s") % {
        "who": display_name(assignee),
        "day": due_on.isoformat(),
        "title": task.title,
    }
    history.record(
        case,
        CaseEvent.Kind.TASK,
        summary,
        actor=actor,
        after={"task": task.pk, "assignee": assignee, "due_on": due_on},
    )
    return task


@transaction.atomic
def complete_task(*, task: Task, actor) -> Task:
    """Marks the task done (once: a second call changes nothing)."""
    task = Task.objects.select_for_update(of=("self",)).select_related("case").get(pk=task.pk)
    if task.done_at is not None:
        return task
    task.done_at, task.done_by = timezone.now(), actor
    task.save(update_fields=["done_at", "done_by"])
    history.record(
        task.case,
        CaseEvent.Kind.TASK,
        _("Task done: %(title)s") % {"title": task.title},
        actor=actor,
        before={"task": task.pk, "done": False},
        after={"task": task.pk, "done": True},
    )
    return task


# Reassignment


def follower_choices():
    return (
        User.objects.filter(is_active=True, groups__name__in=Role.values).distinct().order_by("first_name", "username")
    )


@transaction.atomic
def reassign_case(*, case: Case, actor, owner, followers) -> Case:
    """Sets the owner (None: back to the unassigned pool) and the followers. The previous owner
    loses access at once unless they are among the followers (visibility is read per request).
    The owner is never also a follower."""
    if owner is not None and not owner_choices().filter(pk=owner.pk).exists():
        raise ValidationError({"owner": _("Choose an active account manager.")})
    wanted = {user.pk: user for user in followers if owner is None or user.pk != owner.pk}
    allowed = set(follower_choices().filter(pk__in=wanted).values_list("pk", flat=True))
    if set(wanted) - allowed:
        raise ValidationError({"followers": _("Followers must be active staff.")})
    case = _lock(case)
    previous_owner = case.owner
    current = {user.pk: user for user in case.followers.all()}
    if (previous_owner.pk if previous_owner else None) != (owner.pk if owner else None):
        Case.objects.filter(pk=case.pk).update(owner=owner, updated_at=timezone.now())
        case.owner = owner
        summary = _("Owner changed from %(old)s to %(new)s") % {
            "old": display_name(previous_owner),
            "new": display_name(owner),
        }
        history.record(
            case, CaseEvent.Kind.OWNER, summary, actor=actor, before={"owner": previous_owner}, after={"owner": owner}
        )
    added = [wanted[pk] for pk in wanted if pk not in current]
    removed = [current[pk] for pk in current if pk not in wanted]
    if added:
        case.followers.add(*added)
    if removed:
        case.followers.remove(*removed)
    for user in added:
        history.record(
            case,
            CaseEvent.Kind.FOLLOWER,
            _("%(who)s follows the case") % {"who": display_name(user)},
            actor=actor,
            after={"follower": user},
        )
    for user in removed:
        history.record(
            case,
            CaseEvent.Kind.FOLLOWER,
            _("%(who)s no longer follows the case") % {"who": display_name(user)},
            actor=actor,
            before={"follower": user},
        )
    return case
