"""The lists behind the dashboard's figures and chart segments: one function per list, each
returning a queryset built from the same definitions as the facts (winback/dashboard/refresh.py),
read from the source rows (events, customers, invitations, cases) with the dashboard's filters.

Every filter is served by an index or bounded by a smaller table: events by (as_of, kind) or
(status, as_of); customers by (status, name), (segment, name), (account_manager, name);
cases by (is_open, value_at_stake) or (is_open, closed_at). The purchases table is never read.
Cases start from cases.policy.visible_cases; customers are visible to every staff role.
"""

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import TruncDate
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Case, Offer
from cases.policy import visible_cases
from customers.detection.sql import local_midnight
from customers.models import Customer, DefectionEvent, Reason
from surveys.models import Invitation
from winback.dashboard.figures import Filters
from winback.dashboard.forms import parse_month
from winback.dashboard.periods import add_months, this_month

KINDS = tuple(DefectionEvent.Kind.values)
STAGES = ("invited", "answered", "contacted", "offered", "won_back")
OUTCOMES = ("won_back", "lost", "let_go")
UNKNOWN = "unknown"  # the `reason` parameter for events whose reason is not yet known


@dataclass(frozen=True)
class Drill:
    """The dashboard's filters plus the narrowing a chart segment adds."""

    filters: Filters
    kind: str = ""  # passive / active
    reason: str | None = None  # a Reason value, "" for not yet known, None for any
    month: dt.date | None = None  # one month of the period (a bar of a monthly chart)
    stage: str = ""  # a step of the win-back funnel
    outcome: str = ""  # for closed cases

    @property
    def first(self) -> dt.date:
        return self.month or self.filters.period.first

    @property
    def last(self) -> dt.date:
        return self.month or self.filters.period.last

    @property
    def end(self) -> dt.date:
        """The day after the (narrowed) period."""
        return add_months(self.last, 1)

    @property
    def start_at(self) -> dt.datetime:
        return local_midnight(self.first)

    @property
    def end_at(self) -> dt.datetime:
        return local_midnight(self.end)

    @property
    def until_now(self) -> bool:
        """The period reaches the current month: "open at its end" means open now."""
        return self.last >= this_month()

    def query(self) -> dict[str, str]:
        """The narrowing's own URL parameters (the dashboard's filters come from filter_query)."""
        found = {}
        if self.kind:
            found["kind"] = self.kind
        if self.reason is not None:
            found["reason"] = self.reason or UNKNOWN
        if self.month:
            found["month"] = self.month.strftime("%Y-%m")
        if self.stage:
            found["stage"] = self.stage
        if self.outcome:
            found["outcome"] = self.outcome
        return found


def parse_drill(filters: Filters, params: QueryDict) -> Drill:
    """The narrowing from the query string; anything unknown is ignored (the list is then wider,
    never a different one)."""
    kind = params.get("kind", "")
    reason = params.get("reason")
    if reason == UNKNOWN:
        reason = ""
    elif reason not in Reason.values:
        reason = None
    try:
        month = parse_month(params.get("month", "")) if params.get("month") else None
    except ValidationError:  # a malformed month is ignored
        month = None
    stage = params.get("stage", "")
    outcome = params.get("outcome", "")
    return Drill(
        filters=filters,
        kind=kind if kind in KINDS else "",
        reason=reason,
        month=month,
        stage=stage if stage in STAGES else "",
        outcome=outcome if outcome in OUTCOMES else "",
    )


def _customer_filter(filters: Filters, prefix: str = "") -> Q:
    """The segment and account manager filters on a customer (their current ones)."""
    q = Q()
    for name, value in (("segment", filters.segment), ("account_manager", filters.manager)):
        if value == 0:
            q &= Q(**{f"{prefix}{name}__isnull": True})
        elif value is not None:
            q &= Q(**{f"{prefix}{name}_id": value})
    return q


def _event_narrowing(drill: Drill) -> Q:
    q = Q()
    if drill.kind:
        q &= Q(kind=drill.kind)
    if drill.reason is not None:
        q &= Q(primary_reason=drill.reason)
    return q


def _events() -> QuerySet:
    return DefectionEvent.objects.exclude(status=DefectionEvent.Status.CLOSED).select_related(
        "customer", "customer__segment", "customer__account_manager"
    )


def defected(drill: Drill, user=None) -> QuerySet:
    """Counting events (not dismissed) with as_of in the period; a funnel step narrows them to
    those that got that far."""
    events = _events().filter(
        _customer_filter(drill.filters, "customer__"),
        _event_narrowing(drill),
        as_of__gte=drill.first,
        as_of__lt=drill.end,
    )
    if drill.stage == "invited":
        events = events.filter(invitation__sent_at__isnull=False)
    elif drill.stage == "answered":
        events = events.filter(invitation__responded_at__isnull=False)
    elif drill.stage == "contacted":
        events = events.filter(Exists(Case.objects.filter(event_id=OuterRef("pk"), first_contact_at__isnull=False)))
    elif drill.stage == "offered":
        events = events.filter(Exists(Offer.objects.filter(case__event_id=OuterRef("pk"))))
    elif drill.stage == "won_back":
        events = events.filter(status=DefectionEvent.Status.RECOVERED)
    return events


def won_back(drill: Drill, user=None) -> QuerySet:
    """Counting events won back (recovered_at) in the period: the (status, as_of) index keeps
    this to the recovered events."""
    return _events().filter(
        _customer_filter(drill.filters, "customer__"),
        _event_narrowing(drill),
        status=DefectionEvent.Status.RECOVERED,
        recovered_at__gte=drill.start_at,
        recovered_at__lt=drill.end_at,
    )


def _customers() -> QuerySet:
    return Customer.objects.select_related("segment", "account_manager")


def at_risk(drill: Drill, user=None) -> QuerySet:
    """Customers at risk now (the figure is the count at the month's end, or now)."""
    return _customers().filter(_customer_filter(drill.filters), status=Customer.Status.AT_RISK)


def active(drill: Drill, user=None) -> QuerySet:
    """Customers active at the start of the period: bought before it, and without a counting
    defection before it (of a customer who had bought before its as-of day) that was not won
    back before it."""
    start = drill.start_at
    tz = timezone.get_default_timezone()
    gone = DefectionEvent.objects.filter(
        customer_id=OuterRef("pk"),
        as_of__lt=drill.first,
        as_of__gt=OuterRef("first_purchase_day"),
    ).exclude(status=DefectionEvent.Status.CLOSED)
    gone = gone.exclude(status=DefectionEvent.Status.RECOVERED, recovered_at__lt=start)
    return (
        _customers()
        .filter(_customer_filter(drill.filters), first_purchase_at__lt=start)
        .annotate(first_purchase_day=TruncDate("first_purchase_at", tzinfo=tz))
        .exclude(Exists(gone))
    )


def invited(drill: Drill, user=None) -> QuerySet:
    """Survey invitations sent in the period (stage=answered: those answered)."""
    invitations = Invitation.objects.select_related(
        "event", "customer", "customer__segment", "customer__account_manager"
    ).filter(_customer_filter(drill.filters, "customer__"), sent_at__gte=drill.start_at, sent_at__lt=drill.end_at)
    if drill.stage == "answered":
        invitations = invitations.filter(responded_at__isnull=False)
    return invitations


def _case_filter(filters: Filters) -> Q:
    """Cases: the manager filter is the case owner, the segment filter the case's segment."""
    q = Q()
    for name, value in (("segment", filters.segment), ("owner", filters.manager)):
        if value == 0:
            q &= Q(**{f"{name}__isnull": True})
        elif value is not None:
            q &= Q(**{f"{name}_id": value})
    return q


def _cases(user) -> QuerySet:
    return visible_cases(user, Case.objects.select_related("customer", "segment", "owner"))


def cases_open(drill: Drill, user=None) -> QuerySet:
    """Cases open now when the period reaches this month, else those open at its end."""
    cases = _cases(user).filter(_case_filter(drill.filters))
    if drill.until_now:
        return cases.filter(is_open=True)
    end = drill.end_at
    return cases.filter(Q(closed_at__isnull=True) | Q(closed_at__gte=end), opened_at__lt=end)


def cases_closed(drill: Drill, user=None) -> QuerySet:
    """Cases closed in the period, optionally with one outcome."""
    cases = _cases(user).filter(
        _case_filter(drill.filters), is_open=False, closed_at__gte=drill.start_at, closed_at__lt=drill.end_at
    )
    if drill.outcome:
        cases = cases.filter(stage=drill.outcome)
    return cases


LISTS = {
    "defected": defected,
    "won_back": won_back,
    "at_risk": at_risk,
    "active": active,
    "invited": invited,
    "cases_open": cases_open,
    "cases_closed": cases_closed,
}

# The sort orders each list offers (the first is the default); each ends in the id for stable pages.
SORTS = {
    "defected": {"-lost_revenue": ("-lost_revenue", "-id"), "-as_of": ("-as_of", "-id"), "as_of": ("as_of", "id")},
    "won_back": {"-recovered_at": ("-recovered_at", "-id"), "-lost_revenue": ("-lost_revenue", "-id")},
    "at_risk": {"name": ("name", "id"), "-annual_value": ("-annual_value", "id")},
    "active": {"name": ("name", "id"), "-lifetime_revenue": ("-lifetime_revenue", "-id")},
    "invited": {"-sent_at": ("-sent_at", "-id"), "sent_at": ("sent_at", "id")},
    "cases_open": {"-value_at_stake": ("-value_at_stake", "id"), "-opened_at": ("-opened_at", "-id")},
    "cases_closed": {"-closed_at": ("-closed_at", "-id"), "-value_at_stake": ("-value_at_stake", "id")},
}


def drill_list(what: str, drill: Drill, user, sort: str = "") -> tuple[QuerySet, str]:
    """The list's rows in the chosen (or default) order, and that order's key."""
    sorts = SORTS[what]
    if sort not in sorts:
        sort = next(iter(sorts))
    return LISTS[what](drill, user).order_by(*sorts[sort]), sort


def stage_labels() -> list[tuple[str, str]]:
    return [
        ("invited", _("Invited to the survey")),
        ("answered", _("Answered")),
        ("contacted", _("Contacted")),
        ("offered", _("Offer made")),
        ("won_back", _("Won back")),
    ]
