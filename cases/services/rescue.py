"""The rescue cycle: each cycle (a calendar month by default) the highest-value open cases are
proposed, and each executive takes up to a limit of them to call personally. Taking a case makes
the executive its owner and the manager who owned it a follower.

The limit holds under concurrent requests: the executive's user row is locked (SELECT … FOR
UPDATE) before their picks of the cycle are counted, so two takes by one executive run one after
the other; the case row is locked too, and RescuePick is unique per case and cycle."""

import datetime as dt
from collections import defaultdict

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import policy
from cases.models import Case, CaseEvent, CaseSettings, RescuePick
from cases.services import history

User = get_user_model()


def cycle_start(day: dt.date, months: int = 1) -> dt.date:
    """The first day of the cycle `day` falls in: cycles of `months` calendar months counted from
    January (1: every month; 3: quarters; 12: the calendar year)."""
    months = max(1, months)
    index = (day.year * 12 + day.month - 1) // months * months
    return dt.date(index // 12, index % 12 + 1, 1)


def next_cycle_start(start: dt.date, months: int = 1) -> dt.date:
    index = start.year * 12 + start.month - 1 + max(1, months)
    return dt.date(index // 12, index % 12 + 1, 1)


def current_cycle(settings: CaseSettings | None = None, today: dt.date | None = None) -> dt.date:
    settings = settings or CaseSettings.load()
    return cycle_start(today or timezone.localdate(), settings.rescue_cycle_months)


def candidates(settings: CaseSettings, user):
    """The open cases proposed this cycle: the highest value at stake first, without those an
    executive has taken (one query, on the case_open_value index). Of these, the ones `user` may
    see (a manager sees the proposals among their own cases and the pool)."""
    top = Case.objects.filter(is_open=True, rescued_by__isnull=True).order_by("-value_at_stake", "id")
    proposed = Case.objects.filter(pk__in=top.values("pk")[: settings.rescue_candidates])
    return (
        policy.visible_cases(user, proposed)
        .select_related("customer__segment", "owner")
        .order_by("-value_at_stake", "id")
    )


def picks_by_executive(cycle: dt.date, user) -> list[tuple[object, list[RescuePick]]]:
    """[(executive, [their picks this cycle that `user` may see, latest first])], by name (one
    query)."""
    grouped: dict[int, list[RescuePick]] = defaultdict(list)
    executives = {}
    picks = RescuePick.objects.filter(
        cycle_start=cycle, case_id__in=policy.visible_cases(user).values("pk")
    ).select_related("executive", "previous_owner", "case__customer")
    for pick in picks.order_by("-taken_at", "-id"):
        grouped[pick.executive_id].append(pick)
        executives[pick.executive_id] = pick.executive
    order = sorted(executives.values(), key=lambda user: (user.get_full_name() or user.get_username()).lower())
    return [(executive, grouped[executive.pk]) for executive in order]


def _name(user) -> str:
    return user.get_full_name() or user.get_username()


@transaction.atomic
def rescue_take(
    *, case_id: int, executive, settings: CaseSettings | None = None, now: dt.datetime | None = None
) -> RescuePick:
    """The executive takes the case in the current cycle. Raises ValidationError when they have
    taken the cycle's limit already, or the case is closed or taken by an executive."""
    settings = settings or CaseSettings.load()
    now = now or timezone.now()
    cycle = cycle_start(timezone.localdate(now), settings.rescue_cycle_months)
    User.objects.select_for_update().filter(pk=executive.pk).first()  # one executive's takes in turn
    taken = RescuePick.objects.filter(executive=executive, cycle_start=cycle).count()
    if taken >= settings.rescue_limit:
        raise ValidationError(
            _("You have taken %(limit)s cases this cycle already, the most there may be.")
            % {"limit": settings.rescue_limit}
        )
    case = Case.objects.select_for_update(of=("self",)).select_related("owner").filter(pk=case_id).first()
    if case is None or not case.is_open:
        raise ValidationError(_("This case is closed; only open cases can be rescued."))
    if case.rescued_by_id is not None:
        raise ValidationError(_("An executive has taken this case already."))
    previous = case.owner
    try:
        with transaction.atomic():
            pick = RescuePick.objects.create(
                cycle_start=cycle, executive=executive, case=case, previous_owner=previous, taken_at=now
            )
    except IntegrityError as error:
        raise ValidationError(_("This case was taken in this cycle already.")) from error
    case.owner, case.rescued_by = executive, executive
    case.save(update_fields=["owner", "rescued_by", "updated_at"])
    history.record(
        case,
        CaseEvent.Kind.RESCUE,
        _("Taken in the rescue cycle by %(executive)s") % {"executive": _name(executive)},
        actor=executive,
        after={"cycle": cycle, "executive": executive},
    )
    history.record(
        case,
        CaseEvent.Kind.OWNER,
        _("Owner: %(before)s → %(after)s")
        % {"before": _name(previous) if previous else _("unassigned"), "after": _name(executive)},
        actor=executive,
        before={"owner": previous},
        after={"owner": executive},
    )
    if previous is not None and previous.pk != executive.pk:
        case.followers.add(previous)
        history.record(
            case,
            CaseEvent.Kind.FOLLOWER,
            _("%(manager)s follows the case") % {"manager": _name(previous)},
            actor=executive,
            after={"follower": previous},
        )
    return pick
