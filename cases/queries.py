"""The reads behind the case lists: the queue (and the pool), the board and the task list, and the
exports, which use the same query building so a file holds exactly the rows the page shows.

Every query starts from cases.policy.visible_cases. The queue's order is "overdue first, then the
revenue at stake, then id"; sorting 100,000 open cases by an expression on every request would be
a full sort, so the order is built from two index-backed queries instead (the overdue slice and
the rest, each ordered by value then id, case_open_value / case_owner_open_value /
case_open_stage_value) and the paginator reads the page it needs from their concatenation."""

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import CharField, Count, F, Prefetch, Q, Sum, Value
from django.utils import timezone

from cases import policy
from cases.models import CLOSED_STAGES, OPEN_STAGES, Case, Stage, Task
from cases.selectors import owner_choices
from customers.models import Customer, Reason, Segment
from winback.roles import Role, role_of

PAGE_SIZE = 25
BOARD_CARDS = 10
BOARD_CLOSED_DAYS = 90
PRIORITY = ("-value_at_stake", "id")
User = get_user_model()


def sees_every_case(user) -> bool:
    """Administrators and executives see every case (and filter by owner); managers see theirs."""
    return role_of(user) in (Role.ADMINISTRATOR, Role.EXECUTIVE)


@dataclass(frozen=True)
class CaseFilters:
    """The queue's filters, parsed from the query string. Unknown or malformed values are ignored
    (the list shows everything rather than an error); the owner filter only exists for users who
    see every case, so a manager's ?owner= never changes their list."""

    stage: str = ""
    segment_id: int | None = None
    reason: str = ""
    overdue: bool = False
    owner: str = ""  # a user id, "none" (the pool), "me" (taken by me)
    query: str = ""
    params: dict = field(default_factory=dict, compare=False)

    @classmethod
    def from_params(cls, params, user) -> "CaseFilters":
        stage = params.get("stage", "")
        segment = params.get("segment", "")
        reason = params.get("reason", "")
        owner = params.get("owner", "") if sees_every_case(user) else ""
        if owner not in ("none", "me") and not owner.isdigit():
            owner = ""
        filters = cls(
            stage=stage if stage in Stage.values else "",
            segment_id=int(segment) if segment.isdigit() else None,
            reason=reason if reason in Reason.values else "",
            overdue=params.get("overdue", "") == "yes",
            owner=owner,
            query=params.get("q", "").strip()[:200],
        )
        kept = {
            "stage": filters.stage,
            "segment": str(filters.segment_id or ""),
            "reason": filters.reason,
            "overdue": "yes" if filters.overdue else "",
            "owner": filters.owner,
            "q": filters.query,
        }
        object.__setattr__(filters, "params", {key: value for key, value in kept.items() if value})
        return filters

    @property
    def active(self) -> bool:
        return bool(self.params)


def matching_customers(text: str):
    """Customer ids for a search: the exact external id or email, or a name starting with the
    text (as typed or with a capital first letter). Range conditions rather than LIKE so the
    customer_name_id index serves the prefix under any collation's byte order."""
    names = {text, text[:1].upper() + text[1:]}
    condition = Q(external_id=text) | Q(email__in={text, text.lower()})
    for name in names:
        condition |= Q(name__gte=name, name__lt=name + "\U0010ffff")
    return Customer.objects.filter(condition).values("pk")


def filtered(queryset, filters: CaseFilters, user, *, now=None):
    """Applies the filters to a queryset of visible cases."""
    now = now or timezone.now()
    if filters.stage:
        queryset = queryset.filter(stage=filters.stage)
    if filters.segment_id:
        queryset = queryset.filter(segment_id=filters.segment_id)  # the case_open_segment_value index
    if filters.reason:
        queryset = queryset.filter(primary_reason=filters.reason)
    if filters.overdue:
        queryset = queryset.filter(is_open=True, deadline_at__lt=now)
    if filters.owner == "none":
        queryset = queryset.filter(owner__isnull=True)
    elif filters.owner == "me":
        queryset = queryset.filter(owner_id=user.pk)
    elif filters.owner:
        queryset = queryset.filter(owner_id=int(filters.owner))
    if filters.query:
        queryset = queryset.filter(customer_id__in=matching_customers(filters.query))
    return queryset


def my_cases(user, queryset=None):
    """The visible cases that are the user's own work: for a manager, those they own or follow
    (the followed ids read first, so PostgreSQL can OR two index scans); everything for the
    roles that see every case."""
    if sees_every_case(user):
        return policy.visible_cases(user, queryset)
    if not policy.can_view_cases(user):
        return Case.objects.none()
    queryset = Case.objects.all() if queryset is None else queryset
    followed = list(Case.followers.through.objects.filter(user_id=user.pk).values_list("case_id", flat=True))
    # A manager may see every case they own or follow (cases.policy.visible_cases), so the policy's
    # pool and follower clauses are not repeated here: ORed in, they kept PostgreSQL from using
    # the owner index (230 ms for a manager's board at 100,000 open cases).
    return queryset.filter(Q(owner_id=user.pk) | Q(pk__in=followed))


def queue_cases(user, filters: CaseFilters, *, now=None):
    """The open cases of the queue, filtered, unordered."""
    return filtered(my_cases(user).filter(is_open=True), filters, user, now=now)


def pool_cases(user, filters: CaseFilters, *, now=None):
    """The unassigned open cases (the pool) the user may see, filtered, unordered."""
    base = policy.visible_cases(user).filter(is_open=True, owner__isnull=True)
    return filtered(base, filters, user, now=now)


class PrioritySlices:
    """The overdue cases by value, then the others by value, as one sliceable sequence for a
    Paginator: one COUNT query (both sizes at once), then one query per slice a page touches."""

    def __init__(self, queryset, *, now=None):
        now = now or timezone.now()
        rows = queryset.select_related("customer__segment", "owner")
        self.overdue = rows.filter(deadline_at__lt=now).order_by(*PRIORITY)
        self.others = rows.filter(Q(deadline_at__gte=now) | Q(deadline_at__isnull=True)).order_by(*PRIORITY)
        self._counts = None
        self._queryset = queryset
        self._now = now

    def counts(self) -> tuple[int, int]:
        if self._counts is None:
            # COUNT(*) and COUNT(deadline_at): both answerable from case_open_deadline alone.
            figures = self._queryset.order_by().aggregate(
                total=Count("*"), overdue=Count("deadline_at", filter=Q(deadline_at__lt=self._now))
            )
            self._counts = (figures["overdue"], figures["total"] - figures["overdue"])
        return self._counts

    def count(self) -> int:
        return sum(self.counts())

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index):
        if not isinstance(index, slice):
            raise TypeError("PrioritySlices only supports slices")
        overdue_count, _ = self.counts()
        start, stop = index.start or 0, index.stop if index.stop is not None else self.count()
        rows = []
        if start < overdue_count:
            rows += list(self.overdue[start : min(stop, overdue_count)])
        if stop > overdue_count:
            rows += list(self.others[max(start - overdue_count, 0) : stop - overdue_count])
        return rows

    def iterator(self, chunk_size: int = 2000):
        """Every row in order, streamed (the exports)."""
        yield from self.overdue.iterator(chunk_size=chunk_size)
        yield from self.others.iterator(chunk_size=chunk_size)


def priority_page(queryset, number, *, now=None, per_page: int = PAGE_SIZE) -> Page:
    return Paginator(PrioritySlices(queryset, now=now), per_page).get_page(number)


# --- the board ---------------------------------------------------------------------------------


@dataclass
class Column:
    stage: str
    label: str
    count: int = 0
    total: object = 0
    cards: list = field(default_factory=list)

    @property
    def closed(self) -> bool:
        return self.stage in CLOSED_STAGES


def board_cases(user, filters: CaseFilters, *, now=None):
    """The visible cases on the board: the user's open cases and those closed in the last 90
    days, with the queue's filters (the stage filter is the board's columns, so it is ignored).
    Returns (open cases, recently closed cases): kept apart so each half uses its own index.

    The closed half has no "stage in the closed stages" condition (a closed case has one of
    them): each column's top cards add "stage = X", and with an IN list beside it PostgreSQL
    could no longer read case_open_stage_value in value order and sorted every closed case of
    the stage instead (17 ms for the administrator's board rather than 0.2 ms)."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=BOARD_CLOSED_DAYS)
    filters = dataclasses.replace(filters, stage="")
    mine = my_cases(user)
    open_cases = filtered(mine.filter(is_open=True), filters, user, now=now)
    closed = filtered(mine.filter(is_open=False, closed_at__gte=cutoff), filters, user, now=now)
    return open_cases, closed


def column_totals(open_cases, closed, *, per_stage: bool):
    """The count and money at stake of each stage, one row per stage ("column", "count",
    "total") in one query: the open and the recently closed halves, UNION ALL.

    Over every open case (per_stage) the open half is one aggregate per stage without a GROUP
    BY: each reads its stage's stretch of case_open_stage_value and never hashes the stage of
    100,000 rows (15 ms rather than 28 ms). A narrowed board (a manager's share, a filter)
    reads its few rows once through its own index and groups them."""
    if per_stage:
        halves = [
            open_cases.filter(stage=stage).order_by().values(column=Value(stage, output_field=CharField()))
            for stage in OPEN_STAGES
        ]
    else:
        halves = [open_cases.order_by().values(column=F("stage"))]
    halves.append(closed.filter(stage__in=CLOSED_STAGES).order_by().values(column=F("stage")))
    totals = [half.annotate(count=Count("*"), total=Sum("value_at_stake")) for half in halves]
    return totals[0].union(*totals[1:], all=True)


def board_columns(user, filters: CaseFilters, *, now=None, cards: int = BOARD_CARDS) -> list[Column]:
    """One column per stage with its count and money at stake (one query, column_totals) and
    its top cards by value (one UNION ALL query for the ids, one for the cards, one for their
    followers)."""
    open_cases, closed = board_cases(user, filters, now=now)
    columns = {stage: Column(stage=stage, label=label) for stage, label in Stage.choices}
    every_case = sees_every_case(user) and not dataclasses.replace(filters, stage="").active
    for row in column_totals(open_cases, closed, per_stage=every_case):
        columns[row["column"]].count += row["count"]
        columns[row["column"]].total += row["total"] or 0
    stages = [stage for stage, column in columns.items() if column.count]
    if stages:
        per_stage = [
            (closed if stage in CLOSED_STAGES else open_cases)
            .filter(stage=stage)
            .order_by(*PRIORITY)
            .values_list("pk", flat=True)[:cards]
            for stage in stages
        ]
        if len(per_stage) > 1 and connection.features.supports_slicing_ordering_in_compound:
            ids = list(per_stage[0].union(*per_stage[1:], all=True))
        else:  # SQLite (the embedded default) cannot slice inside a UNION: one query per stage
            ids = [pk for query in per_stage for pk in query]
        found = (
            Case.objects.filter(pk__in=ids)
            .select_related("customer", "owner")
            # What a card shows and the move needs (policy and the state machine): ~70 whole
            # customer rows cost more to build than the query takes.
            .only(
                "stage",
                "is_open",
                "value_at_stake",
                "deadline_at",
                "owner_id",
                "rescued_by_id",
                "customer_id",
                "primary_reason",
                "customer__name",
                "owner__username",
                "owner__first_name",
                "owner__last_name",
            )
            # policy.can_work_case per card without a query each; it only compares the ids.
            .prefetch_related(Prefetch("followers", queryset=User.objects.only("pk")))
            .order_by(*PRIORITY)
        )
        for case in found:
            columns[case.stage].cards.append(case)
    return list(columns.values())


# --- tasks -------------------------------------------------------------------------------------


def task_list(viewer, assignee, *, done: bool = False):
    """The assignee's tasks on cases the viewer may see: open ones by due date, or done ones
    latest first."""
    tasks = Task.objects.filter(assignee=assignee, case__in=policy.visible_cases(viewer).values("pk"))
    tasks = tasks.select_related("case__customer")
    if done:
        return tasks.filter(done_at__isnull=False).order_by("-done_at", "-id")
    return tasks.filter(done_at__isnull=True).order_by("due_on", "id")


# --- choices for the filter bars ---------------------------------------------------------------


def filter_choices(user) -> dict:
    """The segments, reasons, stages and (for those who see every case) owners to filter by."""
    choices = {
        "stages": [(value, label) for value, label in Stage.choices if value in OPEN_STAGES],
        "all_stages": Stage.choices,
        "segments": list(Segment.objects.values_list("pk", "name")),
        "reasons": Reason.choices,
        "owners": [],
    }
    if sees_every_case(user):
        choices["owners"] = [(str(u.pk), u.get_full_name() or u.username) for u in owner_choices()]
    return choices
