"""What the dashboard shows, read from the fact tables only (never from the purchases).

Each fact table is read once, grouped by month (and the few dimensions a chart needs), with the
segment and manager filters applied; everything else is arithmetic on those few rows. The
definitions are in winback/dashboard/refresh.py and docs/dashboard.md.
"""

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from cases.models import CorrectiveAction
from customers.models import Reason
from winback.dashboard.models import AtRiskMonth, CaseMonth, CohortMonth, CustomerMonth, DefectionMonth
from winback.dashboard.periods import Period, add_months, months_between, this_month
from winback.dashboard.refresh import latest_refresh
from winback.dashboard.rows import (
    ZERO,
    ActionRow,
    CohortRow,
    Dashboard,
    Figure,
    FunnelStep,
    MonthRow,
    PersonRow,
    ReasonRow,
)

CHART_MONTHS = 24
COHORTS = 12
EFFECT_MONTHS = 6


@dataclass(frozen=True)
class Filters:
    period: Period
    segment: int | None = None  # a segment id; 0 = customers without one; None = all
    manager: int | None = None  # a user id; 0 = customers without one; None = all

    def fact_filter(self) -> dict:
        found = {}
        if self.segment is not None:
            found["segment_key"] = self.segment
        if self.manager is not None:
            found["manager_key"] = self.manager
        return found


def _ratio(part, whole):
    return part / whole if whole else None


class _CustomerFlows:
    """CustomerMonth summed by month: the active stock at any month's start and the period sums."""

    FIELDS = (
        "new_customers",
        "defected_out",
        "returned",
        "won_back",
        "recovered_revenue",
        "offer_revenue",
        "offers_accepted",
        "offer_cost",
        "survey_sent",
        "survey_answered",
    )

    def __init__(self, filters: Filters):
        rows = (
            CustomerMonth.objects.filter(**filters.fact_filter())
            .values("month")
            .annotate(**{name: Sum(name) for name in self.FIELDS})
            .order_by("month")
        )
        self.by_month = {row["month"]: row for row in rows}

    def active_at(self, month: dt.date) -> int:
        return sum(
            r["new_customers"] - r["defected_out"] + r["returned"] for m, r in self.by_month.items() if m < month
        )

    def total(self, period: Period, name: str):
        values = [self.by_month[m][name] or 0 for m in period.months if m in self.by_month]
        return sum(values, start=ZERO if name in ("recovered_revenue", "offer_revenue", "offer_cost") else 0)


class _Defections:
    """DefectionMonth summed by month, kind and reason."""

    FIELDS = ("events", "lost_revenue", "invited", "answered", "contacted", "offered", "won_back")

    def __init__(self, filters: Filters):
        self.rows = list(
            DefectionMonth.objects.filter(**filters.fact_filter())
            .values("month", "kind", "reason")
            .annotate(**{name: Sum(name) for name in self.FIELDS})
            .order_by()
        )

    def in_months(self, months) -> list[dict]:
        wanted = set(months)
        return [row for row in self.rows if row["month"] in wanted]

    def total(self, months, name: str, **match):
        rows = [r for r in self.in_months(months) if all(r[k] == v for k, v in match.items())]
        return sum((r[name] or 0 for r in rows), start=ZERO if name == "lost_revenue" else 0)


class _Cases:
    """CaseMonth rows (by month and owner) with the filters applied."""

    def __init__(self, filters: Filters, first: dt.date):
        self.rows = list(
            CaseMonth.objects.filter(month__gte=first, **filters.fact_filter())
            .values_list(
                "month",
                "manager_key",
                "opened",
                "first_contacts",
                "contact_hours",
                "won",
                "lost",
                "let_go",
                "recovered_revenue",
                "open_end",
                "stake_end",
                "overdue_end",
            )
            .order_by()
        )

    def at_end(self, month: dt.date) -> tuple[int, Decimal]:
        rows = [r for r in self.rows if r[0] == month]
        return sum(r[9] for r in rows), sum((r[10] for r in rows), start=ZERO)


def _at_risk(filters: Filters) -> dict[dt.date, int]:
    """At-risk counts by month: 0 for a recorded month where nobody matching was at risk; a month
    never recorded is missing (unknown)."""
    matching = Q(**filters.fact_filter())
    rows = (
        AtRiskMonth.objects.values("month")
        .annotate(n=Coalesce(Sum("at_risk", filter=matching), 0) if filters.fact_filter() else Sum("at_risk"))
        .order_by()
    )
    return {row["month"]: row["n"] for row in rows}


def _headline(filters, period, previous, flows, defections, cases, at_risk) -> dict[str, Figure]:
    current_month = this_month()

    def figures_for(p: Period) -> dict:
        last = min(p.last, current_month)
        defected = defections.total(p.months, "events")
        active_start = flows.active_at(p.first)
        open_cases, stake = cases.at_end(last)
        offer_cost = flows.total(p, "offer_cost")
        return {
            "active_start": active_start,
            "defected": defected,
            "defected_passive": defections.total(p.months, "events", kind="passive"),
            "defected_active": defections.total(p.months, "events", kind="active"),
            "churn_rate": _ratio(defected, active_start),
            "lost_revenue": defections.total(p.months, "lost_revenue"),
            "at_risk": at_risk.get(last),
            "won_back": flows.total(p, "won_back"),
            "recovered_revenue": flows.total(p, "recovered_revenue"),
            "win_back_rate": _ratio(defections.total(p.months, "won_back"), defected),
            "survey_response_rate": _ratio(flows.total(p, "survey_answered"), flows.total(p, "survey_sent")),
            "open_cases": open_cases,
            "stake": stake,
            "offer_cost": offer_cost,
            "offer_return": _ratio(flows.total(p, "offer_revenue"), offer_cost),
        }

    now, before = figures_for(period), figures_for(previous)
    return {key: Figure(key, str(label), now[key], before[key], kind) for key, label, kind in HEADLINE}


HEADLINE = (
    ("active_start", _("Active at the start"), "count"),
    ("defected", _("Defected"), "count"),
    ("defected_passive", _("Defected silently (passive)"), "count"),
    ("defected_active", _("Cancelled (active)"), "count"),
    ("churn_rate", _("Churn rate"), "rate"),
    ("lost_revenue", _("Lost revenue (annual)"), "money"),
    ("at_risk", _("At risk"), "count"),
    ("won_back", _("Won back"), "count"),
    ("recovered_revenue", _("Recovered revenue"), "money"),
    ("win_back_rate", _("Win-back rate"), "rate"),
    ("survey_response_rate", _("Survey response rate"), "rate"),
    ("open_cases", _("Open cases"), "count"),
    ("stake", _("Revenue at stake"), "money"),
    ("offer_cost", _("Offer cost"), "money"),
    ("offer_return", _("Return on offers"), "ratio"),
)

FUNNEL = (
    ("events", "defected", _("Defected")),
    ("invited", "invited", _("Invited to the survey")),
    ("answered", "answered", _("Answered")),
    ("contacted", "contacted", _("Contacted")),
    ("offered", "offered", _("Offer made")),
    ("won_back", "won_back", _("Won back")),
)


def _monthly(period: Period, flows, defections) -> list[MonthRow]:
    last = min(period.last, this_month())
    months = months_between(add_months(last, 1 - CHART_MONTHS), last)
    rows = {m: MonthRow(month=m, active_start=flows.active_at(m)) for m in months}
    for row in defections.in_months(months):
        target = rows[row["month"]]
        target.defected += row["events"]
        target.lost_revenue += row["lost_revenue"] or ZERO
        if row["kind"] == "passive":
            target.passive += row["events"]
        else:
            target.active += row["events"]
    return [rows[m] for m in months]


def _reasons(period: Period, defections) -> list[ReasonRow]:
    totals: dict[str, list] = defaultdict(lambda: [0, ZERO])
    for row in defections.in_months(period.months):
        totals[row["reason"] or ""][0] += row["events"]
        totals[row["reason"] or ""][1] += row["lost_revenue"] or ZERO
    labels = dict(Reason.choices)
    rows = [
        ReasonRow(reason, str(labels.get(reason, _("Not yet known"))), events, money)
        for reason, (events, money) in totals.items()
    ]
    return sorted(rows, key=lambda r: (-r.lost_revenue, -r.events, r.reason))


def _funnel(period: Period, defections) -> list[FunnelStep]:
    return [FunnelStep(key, str(label), defections.total(period.months, name)) for name, key, label in FUNNEL]


def _cohorts(filters: Filters, period: Period) -> list[CohortRow]:
    last = min(period.last, this_month())
    first = add_months(last, 1 - COHORTS)
    rows = (
        CohortMonth.objects.filter(cohort__gte=first, cohort__lte=last, **filters.fact_filter())
        .values("cohort", "month")
        .annotate(joined=Sum("joined"), defected=Sum("defected"), returned=Sum("returned"))
        .order_by()
    )
    grid: dict[dt.date, dict[dt.date, dict]] = defaultdict(dict)
    for row in rows:
        grid[row["cohort"]][row["month"]] = row
    result = []
    for cohort in months_between(first, last):
        cells = grid.get(cohort, {})
        joined = sum(c["joined"] or 0 for c in cells.values())
        retention, stock = [], joined
        for offset in range(COHORTS):
            month = add_months(cohort, offset)
            cell = cells.get(month)
            if cell:
                stock += (cell["returned"] or 0) - (cell["defected"] or 0)
            retention.append(_ratio(stock, joined) if month <= last else None)
        result.append(CohortRow(cohort, joined, retention))
    return result


def _people(filters: Filters, period: Period, cases: _Cases) -> list[PersonRow]:
    last = min(period.last, this_month())
    wanted = set(period.months)
    people: dict[int, PersonRow] = {}
    hours: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    closed: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for month, owner, _o, _fc, contact_hours, won, lost, let_go, recovered, open_end, _s, overdue in cases.rows:
        person = people.setdefault(owner, PersonRow(owner, ""))
        if month == last:
            person.open_cases += open_end
            person.overdue += overdue
        if month in wanted:
            for hour, count in (contact_hours or {}).items():
                hours[owner][int(hour)] += count
            closed[owner][0] += won
            closed[owner][1] += won + lost + let_go
            person.recovered_revenue += recovered or ZERO
    names = {
        user.pk: user.get_full_name() or user.get_username()
        for user in get_user_model().objects.filter(pk__in=[key for key in people if key])
    }
    for key, person in people.items():
        person.name = names.get(key, str(_("Unassigned")))
        person.median_contact_days = median_days(hours.get(key, {}))
        person.win_rate = _ratio(*closed[key]) if key in closed else None
    rows = [p for p in people.values() if p.open_cases or p.recovered_revenue or p.win_rate is not None or p.overdue]
    return sorted(rows, key=lambda p: (p.manager_key == 0, p.name.lower()))


def median_days(histogram: dict[int, int]) -> float | None:
    """The median of whole hours given as {hours: cases}, in days."""
    values = [hour for hour, count in sorted(histogram.items()) for _ in range(count)]
    return round(statistics.median(values) / 24, 1) if values else None


def _actions(period: Period, defections: _Defections) -> list[ActionRow]:
    actions = CorrectiveAction.objects.order_by("-lost_revenue", "id")[:20]
    by_month_reason: dict[tuple, int] = defaultdict(int)
    for row in defections.rows:
        by_month_reason[(row["month"], row["reason"])] += row["events"]
    result = []
    for action in actions:
        effect = []
        if action.done_at:
            done = action.done_at.date().replace(day=1)
            months = months_between(add_months(done, -EFFECT_MONTHS), add_months(done, EFFECT_MONTHS))
            effect = [(m, by_month_reason.get((m, action.reason), 0), m < done) for m in months]
        result.append(
            ActionRow(
                action.pk,
                action.title,
                action.reason,
                action.get_reason_display(),
                action.status,
                action.get_status_display(),
                action.lost_revenue,
                action.done_at,
                effect,
            )
        )
    return result


def build_dashboard(filters: Filters) -> Dashboard:
    period, previous = filters.period, filters.period.previous()
    flows = _CustomerFlows(filters)
    defections = _Defections(filters)
    cases = _Cases(filters, min(previous.first, add_months(period.last, -CHART_MONTHS)))
    refresh = latest_refresh()
    return Dashboard(
        filters=filters,
        period=period,
        previous=previous,
        headline=_headline(filters, period, previous, flows, defections, cases, _at_risk(filters)),
        monthly=_monthly(period, flows, defections),
        reasons=_reasons(period, defections),
        funnel=_funnel(period, defections),
        cohorts=_cohorts(filters, period),
        people=_people(filters, period, cases),
        actions=_actions(period, defections),
        refreshed_at=refresh.finished_at if refresh else None,
    )
