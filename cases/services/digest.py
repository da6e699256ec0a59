"""The overdue digest: each owner gets one email listing their overdue first contacts, overdue cases
and overdue tasks, each item at most once a day, and no email when nothing is new.

"At most once a day" is an OverdueNotice row per (kind, item, day), unique in the database and
claimed BEFORE the email is sent: two concurrent runs never both claim an item, so never both mail
it. A failed send gives its claims back, so the next run tries again. Executives who took rescue
cases own them and get their digest like anyone else.
"""

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cases.models import Case, OverdueNotice, Task

logger = logging.getLogger(__name__)

SHOWN_PER_SECTION = 50  # a long list names the most valuable; the rest are counted and linked
CLAIM_BATCH = 300


# The paths the cases URLs are fixed at (cases brief), for a link whose view is not installed yet.
def absolute_url(name: str, *args) -> str:
    return settings.SITE_URL.rstrip("/") + reverse(name, args=args)


@dataclass(frozen=True)
class Item:
    kind: str  # OverdueNotice.Kind
    object_id: int
    recipient_id: int
    case: Case
    title: str
    due: dt.date
    url: str


def _not_noticed(kind: str, today: dt.date):
    return ~Exists(OverdueNotice.objects.filter(kind=kind, object_id=OuterRef("pk"), day=today))


def overdue_querysets(*, now: dt.datetime, today: dt.date) -> dict[str, tuple[QuerySet, str]]:
    """Per kind: the overdue items not yet named today (most revenue at stake, or the oldest due
    date, first) and the field naming their recipient. A first contact overdue is not listed again
    as an overdue case."""
    open_overdue = Case.objects.filter(is_open=True, owner__isnull=False, deadline_at__lt=now)
    return {
        OverdueNotice.Kind.FIRST_CONTACT: (
            open_overdue.filter(first_contact_at__isnull=True, first_contact_due__lt=now)
            .filter(_not_noticed(OverdueNotice.Kind.FIRST_CONTACT, today))
            .order_by("-value_at_stake", "pk"),
            "owner_id",
        ),
        OverdueNotice.Kind.CASE: (
            open_overdue.filter(first_contact_at__isnull=False)
            .filter(_not_noticed(OverdueNotice.Kind.CASE, today))
            .order_by("-value_at_stake", "pk"),
            "owner_id",
        ),
        OverdueNotice.Kind.TASK: (
            Task.objects.filter(assignee__isnull=False, done_at__isnull=True, due_on__lt=today)
            .filter(_not_noticed(OverdueNotice.Kind.TASK, today))
            .order_by("due_on", "pk"),
            "assignee_id",
        ),
    }


def recipients(querysets) -> set[int]:
    """Everyone with something overdue not named yet today (one query per kind)."""
    found: set[int] = set()
    for queryset, field in querysets.values():
        found.update(queryset.order_by().values_list(field, flat=True).distinct())
    return found


def overdue_ids(querysets, user_id: int) -> list[tuple[str, int]]:
    """The (kind, id) of the user's overdue items, in listing order (ids only: an owner of
    thousands of overdue cases costs a list of integers)."""
    return [
        (kind, pk)
        for kind, (queryset, field) in querysets.items()
        for pk in queryset.filter(**{field: user_id}).values_list("pk", flat=True)
    ]


def items_for(claimed: list[tuple[str, int]], recipient_id: int) -> list[Item]:
    """The claimed items to list, at most SHOWN_PER_SECTION of each kind, loaded in one query per
    kind (in claim order); the others are only counted."""
    items = []
    for kind in OverdueNotice.Kind.values:
        ids = [pk for item_kind, pk in claimed if item_kind == kind][:SHOWN_PER_SECTION]
        if not ids:
            continue
        if kind == OverdueNotice.Kind.TASK:
            rows = Task.objects.filter(pk__in=ids).select_related("case__customer").in_bulk()
            for pk in ids:
                task = rows[pk]
                name = "cases:care_review" if task.kind == Task.Kind.HEALTH_REVIEW else "cases:detail"
                url = absolute_url(name, task.pk if task.kind == Task.Kind.HEALTH_REVIEW else task.case_id)
                items.append(Item(kind, pk, recipient_id, task.case, task.title, task.due_on, url))
            continue
        rows = Case.objects.filter(pk__in=ids).select_related("customer").in_bulk()
        for pk in ids:
            case = rows[pk]
            due = case.first_contact_due if kind == OverdueNotice.Kind.FIRST_CONTACT else case.deadline_at
            items.append(
                Item(
                    kind,
                    pk,
                    recipient_id,
                    case,
                    case.customer.name,
                    timezone.localdate(due),
                    absolute_url("cases:detail", pk),
                )
            )
    return items


def claim(keys: list[tuple[str, int]], *, recipient_id: int, day: dt.date) -> list[tuple[str, int]]:
    """Inserts the day's notice rows for the items and returns those this call got; an item
    another call claimed first (same kind, id and day) is left out. One statement per batch with
    ON CONFLICT DO NOTHING … RETURNING (PostgreSQL, and SQLite since 3.35)."""
    table = OverdueNotice._meta.db_table
    got: set[tuple[str, int]] = set()
    adapt = connection.ops.adapt_datefield_value
    for start in range(0, len(keys), CLAIM_BATCH):
        batch = keys[start : start + CLAIM_BATCH]
        values = ", ".join(["(%s, %s, %s, %s)"] * len(batch))
        params = [value for kind, pk in batch for value in (kind, pk, adapt(day), recipient_id)]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (kind, object_id, day, recipient_id) VALUES {values} "
                "ON CONFLICT (kind, object_id, day) DO NOTHING RETURNING kind, object_id",
                params,
            )
            got.update((kind, int(object_id)) for kind, object_id in cursor.fetchall())
    return [key for key in keys if key in got]


def _section(items: list[Item], counts: dict[str, int], kind: str) -> dict:
    chosen = [item for item in items if item.kind == kind]
    count = counts.get(kind, 0)
    return {"items": chosen, "count": count, "more": max(count - len(chosen), 0)}


def message_for(user, items: list[Item], counts: dict[str, int], day: dt.date) -> EmailMultiAlternatives:
    count = sum(counts.values())
    first_contacts = _section(items, counts, OverdueNotice.Kind.FIRST_CONTACT)
    cases = _section(items, counts, OverdueNotice.Kind.CASE)
    context = {
        "user": user,
        "day": day,
        "count": count,
        "first_contacts": first_contacts,
        "cases": cases,
        "tasks": _section(items, counts, OverdueNotice.Kind.TASK),
        "case_sections": [(_("First contact overdue"), first_contacts), (_("Case deadline passed"), cases)],
        "queue_url": absolute_url("cases:queue") + "?overdue=1",
        "tasks_url": absolute_url("cases:my_tasks"),
        "company_name": getattr(settings, "WINBACK_COMPANY_NAME", ""),
    }
    subject = ngettext(
        "%(count)s overdue item in your win-back cases", "%(count)s overdue items in your win-back cases", count
    ) % {"count": count}
    message = EmailMultiAlternatives(
        subject=subject, body=render_to_string("cases/email/overdue_digest.txt", context), to=[user.email]
    )
    message.attach_alternative(render_to_string("cases/email/overdue_digest.html", context), "text/html")
    return message


def send_overdue_digests(*, now: dt.datetime | None = None) -> int:
    """Sends each owner their digest of what is overdue and was not named yet today; returns how
    many emails were sent. Safe to run any number of times, also at once. One owner at a time, so
    memory holds one owner's item ids, never everyone's items."""
    now = now or timezone.now()
    day = timezone.localdate(now)
    querysets = overdue_querysets(now=now, today=day)
    waiting = recipients(querysets)
    if not waiting:
        return 0
    users = get_user_model().objects.filter(pk__in=waiting, is_active=True).exclude(email="").order_by("pk")
    sent = 0
    for user in users:
        claimed = claim(overdue_ids(querysets, user.pk), recipient_id=user.pk, day=day)
        if not claimed:
            continue
        counts: dict[str, int] = defaultdict(int)
        for kind, _pk in claimed:
            counts[kind] += 1
        try:
            message_for(user, items_for(claimed, user.pk), counts, day).send()
        except Exception:
            # Give the items back so that the next run names them; one bad address must not stop
            # the other owners' digests.
            _release(claimed, day)
            logger.exception("overdue digest to user %s failed", user.pk)
            continue
        _notices(claimed, day, lambda notices: notices.update(sent_at=timezone.now()))
        sent += 1
        logger.info("overdue digest to user %s: %s items", user.pk, len(claimed))
    return sent


def _release(claimed: list[tuple[str, int]], day: dt.date) -> None:
    _notices(claimed, day, lambda notices: notices.delete())


def _notices(claimed: list[tuple[str, int]], day: dt.date, change) -> None:
    """Applies `change` to the claimed items' notice rows, a few thousand ids per statement."""
    for kind in {kind for kind, _pk in claimed}:
        ids = [pk for item_kind, pk in claimed if item_kind == kind]
        for start in range(0, len(ids), 5000):
            change(OverdueNotice.objects.filter(kind=kind, day=day, object_id__in=ids[start : start + 5000]))
