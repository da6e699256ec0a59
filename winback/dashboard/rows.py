"""The rows the dashboard shows (built by winback.dashboard.figures)."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from winback.dashboard.periods import Period

ZERO = Decimal("0")


@dataclass
class Figure:
    key: str
    label: str
    value: object
    previous: object
    kind: str  # count, money, rate, ratio, days

    @property
    def change(self):
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous


@dataclass
class MonthRow:
    month: dt.date
    active_start: int = 0
    defected: int = 0
    passive: int = 0
    active: int = 0
    lost_revenue: Decimal = ZERO

    @property
    def churn_rate(self) -> float | None:
        return self.defected / self.active_start if self.active_start else None


@dataclass
class ReasonRow:
    reason: str
    label: str
    events: int
    lost_revenue: Decimal


@dataclass
class FunnelStep:
    key: str
    label: str
    count: int


@dataclass
class CohortRow:
    cohort: dt.date
    joined: int
    retention: list


@dataclass
class PersonRow:
    manager_key: int
    name: str
    open_cases: int = 0
    overdue: int = 0
    median_contact_days: float | None = None
    win_rate: float | None = None
    recovered_revenue: Decimal = ZERO


@dataclass
class ActionRow:
    id: int
    title: str
    reason: str
    reason_label: str
    status: str
    status_label: str
    lost_revenue: Decimal
    done_at: dt.datetime | None
    effect: list = field(default_factory=list)


@dataclass
class Dashboard:
    filters: object  # figures.Filters
    period: Period
    previous: Period
    headline: dict
    monthly: list
    reasons: list
    funnel: list
    cohorts: list
    people: list
    actions: list
    refreshed_at: dt.datetime | None
