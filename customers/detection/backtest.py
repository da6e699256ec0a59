"""The backtest: replays the "defected" flag month by month against what customers really did next.

For each month M, as of its last day D:
- population: customers with a purchase in the 365 days up to D (active in the trailing year);
- truth ("defector"): no purchase in the horizon after D (end of D to end of D + horizon days);
- prediction, for the saved rules ("current") and for the same segments' days without the
  rhythm adjustment ("plain"); a customer with a dismissal covering D is not flagged (counted
  as "dismissed" among those the rule would have flagged).

Months whose horizon runs past the latest purchase in the data are incomplete (nobody can know
yet whether their customers came back): they are reported but left out of the totals and of the
suggestions.

One SQL statement per month (the detection engine's own figures query) fetches compact tuples
(segment key, days since the last purchase, median gap, defector, dismissed); numpy evaluates the
two rule sets and the whole grid of candidate rules per segment at once, never a Python loop
over customers.
"""

import datetime as dt
import re
import time
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.db import connection
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.detection import sql as q
from customers.detection.engine import number_purchases_first
from customers.detection.rules import DEFAULT_KEY, Rule, current_rules
from customers.models import BacktestRun, Segment, Transaction

GRID_DAYS = tuple(range(30, 541, 15))
GRID_MULTIPLES = (1.5, 2.0, 2.5, 3.0, 4.0, 5.0)
MAX_MONTHS = 120
FETCH_ROWS = 100_000
RULE_SETS = ("current", "plain")


class BacktestError(ValueError):
    """Input the backtest cannot run with (a malformed month, an empty range, a bad horizon)."""


def parse_month(value) -> dt.date:
    """The first day of a month given as "YYYY-MM" (or as any date in it)."""
    if isinstance(value, dt.date):
        return value.replace(day=1)
    match = re.fullmatch(r"(\d{4})-(\d{2})", str(value).strip())
    if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1:
        raise BacktestError(_("%(value)r is not a month like 2025-01.") % {"value": value})
    return dt.date(int(match[1]), int(match[2]), 1)


def month_ends(first: dt.date, last: dt.date) -> list[dt.date]:
    ends, month = [], first
    while month <= last:
        following = (month + dt.timedelta(days=32)).replace(day=1)
        ends.append(following - dt.timedelta(days=1))
        month = following
    return ends


def month_sql(horizon_days: int) -> str:
    """One row per customer in the month's population: (segment key, days since the last
    purchase, median gap, 1 if no purchase within the horizon, 1 if an alarm dismissal covers D)."""
    return (
        f"SELECT coalesce(c.segment_id, {DEFAULT_KEY}), {q.days_since('a.last_at')}, a.median_gap, "
        "CASE WHEN EXISTS (SELECT 1 FROM customers_transaction h WHERE h.customer_id = a.customer_id "
        "AND h.kind = 'purchase' AND h.occurred_at >= %(cut)s AND h.occurred_at < %(horizon_end)s) "
        "THEN 0 ELSE 1 END, "
        "CASE WHEN EXISTS (SELECT 1 FROM customers_dismissal d WHERE d.customer_id = a.customer_id "
        "AND d.created_at < %(cut)s AND d.until >= %(as_of)s) THEN 1 ELSE 0 END "
        f"FROM ({q.figures_query('all')}) a JOIN customers_customer c ON c.id = a.customer_id "
        "WHERE a.last_at >= %(w365)s"
    )


@dataclass
class MonthData:
    segment: np.ndarray  # index into the rule table, not the key
    days: np.ndarray
    gap: np.ndarray  # nan: no gap (one-time buyers)
    defector: np.ndarray
    dismissed: np.ndarray


def fetch_month(as_of: dt.date, horizon_days: int, keys: np.ndarray) -> MonthData:
    windows = q.Windows(as_of)
    params = windows.params()
    params["horizon_end"] = q.db_time(q.local_midnight(as_of + dt.timedelta(days=horizon_days + 1)))
    chunks = []
    with connection.cursor() as cursor:
        cursor.execute(month_sql(horizon_days), params)
        while rows := cursor.fetchmany(FETCH_ROWS):
            chunks.append(np.array(rows, dtype=float))
    data = np.concatenate(chunks) if chunks else np.empty((0, 5))
    return MonthData(
        segment=np.searchsorted(keys, data[:, 0].astype(np.int64)),
        days=data[:, 1].astype(np.int64),
        gap=data[:, 2],
        defector=data[:, 3] > 0.5,
        dismissed=data[:, 4] > 0.5,
    )


def eligible(days: np.ndarray, gap: np.ndarray, multiple: float | None) -> np.ndarray:
    """Not held back by the rhythm rule: no rhythm, no gap, or at least multiple × the gap."""
    if multiple is None:
        return np.ones(days.shape, dtype=bool)
    return np.isnan(gap) | (days >= multiple * np.nan_to_num(gap, nan=0.0))


def scores(flagged: int, true_flags: int, defectors: int) -> dict:
    precision = true_flags / flagged if flagged else None
    recall = true_flags / defectors if defectors else None
    f1 = 2 * true_flags / (flagged + defectors) if flagged + defectors else None
    return {
        "flagged": int(flagged),
        "false_alarms": int(flagged - true_flags),
        "precision": None if precision is None else round(precision, 4),
        "recall": None if recall is None else round(recall, 4),
        "f1": None if f1 is None else round(f1, 4),
    }


@dataclass
class RuleTable:
    rules: list[Rule]
    keys: np.ndarray
    defected_days: np.ndarray
    multiples: np.ndarray  # nan where the rhythm rule is off: nobody is held back

    @classmethod
    def of(cls, rules: list[Rule]) -> "RuleTable":
        rules = sorted(rules, key=lambda rule: rule.segment_key)
        return cls(
            rules=rules,
            keys=np.array([rule.segment_key for rule in rules], dtype=np.int64),
            defected_days=np.array([rule.defected_days for rule in rules], dtype=np.int64),
            multiples=np.array([float(rule.rhythm_multiple) if rule.rhythm_enabled else np.nan for rule in rules]),
        )

    def would_flag(self, month: MonthData, rhythm: bool) -> np.ndarray:
        flag = month.days >= self.defected_days[month.segment]
        if rhythm:
            multiple = self.multiples[month.segment]
            held_back = ~np.isnan(multiple) & ~np.isnan(month.gap) & (month.days < np.nan_to_num(multiple) * month.gap)
            flag &= ~held_back
        return flag


class Grid:
    """Pooled counts, per segment, of the customers every candidate rule flags: one histogram of
    days per (segment, multiple) makes "flagged at d days" a suffix sum."""

    def __init__(self, table: RuleTable):
        self.table = table
        self.multiples: list[float | None] = [None, *GRID_MULTIPLES]
        for rule in table.rules:
            if rule.rhythm_enabled and float(rule.rhythm_multiple) not in self.multiples:
                self.multiples.append(float(rule.rhythm_multiple))
        self.bins = max([*GRID_DAYS, *(rule.defected_days for rule in table.rules), 0]) + 2
        shape = (len(table.rules), len(self.multiples), self.bins)
        self.flagged = np.zeros(shape)
        self.true_flags = np.zeros(shape)
        self.defectors = np.zeros(len(table.rules))
        self.population = np.zeros(len(table.rules))

    def add(self, month: MonthData) -> None:
        segments = len(self.table.rules)
        index = month.segment * self.bins + np.clip(month.days, 0, self.bins - 1)
        self.defectors += np.bincount(month.segment, weights=month.defector, minlength=segments)
        self.population += np.bincount(month.segment, minlength=segments)
        for position, multiple in enumerate(self.multiples):
            flaggable = eligible(month.days, month.gap, multiple) & ~month.dismissed
            for target, weights in ((self.flagged, flaggable), (self.true_flags, flaggable & month.defector)):
                counts = np.bincount(index, weights=weights, minlength=segments * self.bins)
                target[:, position, :] += counts.reshape(segments, self.bins)

    def suggestions(self, names: dict[int, str]) -> list[dict]:
        """Per segment with customers, the candidate with the best pooled F1 (ties: fewer false
        alarms, then the plain rule, then fewer days, then the smaller multiple), unless that is
        the saved rule itself."""
        flagged_at = np.flip(np.cumsum(np.flip(self.flagged, -1), -1), -1)  # flagged at ≥ d days
        true_at = np.flip(np.cumsum(np.flip(self.true_flags, -1), -1), -1)
        out = []
        for row, rule in enumerate(self.table.rules):
            if not self.population[row]:
                continue  # nobody to learn from
            candidates = self._candidates(rule)
            position = np.array([self.multiples.index(m) for _, m in candidates])
            days = np.array([d for d, _ in candidates])
            flagged, true_flags = flagged_at[row, position, days], true_at[row, position, days]
            total = flagged + self.defectors[row]
            f1 = np.divide(2 * true_flags, total, out=np.full(total.shape, -1.0), where=total > 0)
            rhythm = np.array([m is not None for _, m in candidates])
            multiple = np.array([m or 0.0 for _, m in candidates])
            order = np.lexsort((multiple, days, rhythm, flagged - true_flags, -np.round(f1, 12)))
            best = int(order[0])
            current = candidates.index(self._current(rule))
            if candidates[best] == candidates[current]:
                continue  # the saved rule is already the best: nothing to apply
            out.append(
                {
                    "segment_key": rule.segment_key,
                    "segment": names.get(rule.segment_key, str(rule.segment_key)),
                    "defected_days": int(days[best]),
                    "rhythm_enabled": bool(rhythm[best]),
                    "rhythm_multiple": f"{Decimal(str(multiple[best] or rule.rhythm_multiple)):.1f}",
                    "f1": None if f1[best] < 0 else round(float(f1[best]), 4),
                    "current_f1": None if f1[current] < 0 else round(float(f1[current]), 4),
                    "false_alarms": int(flagged[best] - true_flags[best]),
                    "current_false_alarms": int(flagged[current] - true_flags[current]),
                }
            )
        return out

    @staticmethod
    def _current(rule: Rule) -> tuple[int, float | None]:
        return rule.defected_days, float(rule.rhythm_multiple) if rule.rhythm_enabled else None

    def _candidates(self, rule: Rule) -> list[tuple[int, float | None]]:
        """Days above the at-risk days (the grid's, the current ones) × no rhythm or a multiple
        of the grid; the current rule is always a candidate, so a suggestion is never worse."""
        days = sorted({d for d in GRID_DAYS if d > rule.at_risk_days} | {rule.defected_days})
        multiples = [None, *GRID_MULTIPLES]
        candidates = [(d, m) for d in days for m in multiples]
        if self._current(rule) not in candidates:
            candidates.append(self._current(rule))
        return candidates


def evaluate_month(table: RuleTable, month: MonthData) -> dict:
    defectors = int(month.defector.sum())
    row = {"population": int(month.days.size), "defectors": defectors}
    for name, rhythm in (("current", True), ("plain", False)):
        would = table.would_flag(month, rhythm)
        flagged = would & ~month.dismissed
        true_flags = int((flagged & month.defector).sum())
        row[name] = {
            **scores(int(flagged.sum()), true_flags, defectors),
            "dismissed": int((would & month.dismissed).sum()),
            "_true_flags": true_flags,  # pooled by the caller, not part of the result
        }
    return row


def latest_purchase_day() -> dt.date | None:
    latest = Transaction.objects.filter(kind=Transaction.Kind.PURCHASE).aggregate(at=Max("occurred_at"))["at"]
    return timezone.localdate(latest) if latest else None


def validate(from_month, to_month, horizon_days) -> tuple[dt.date, dt.date, int]:
    first, last = parse_month(from_month), parse_month(to_month)
    if first > last:
        raise BacktestError(
            _("The first month (%(first)s) is after the last month (%(last)s).")
            % {"first": f"{first:%Y-%m}", "last": f"{last:%Y-%m}"}
        )
    if len(month_ends(first, last)) > MAX_MONTHS:
        raise BacktestError(_("A backtest covers at most %(count)s months.") % {"count": MAX_MONTHS})
    if not isinstance(horizon_days, int) or horizon_days < 1:
        raise BacktestError(_("The horizon must be at least 1 day, not %(days)r.") % {"days": horizon_days})
    return first, last, horizon_days


def run_backtest(*, from_month, to_month, horizon_days: int = 180, save: bool = True) -> BacktestRun | dict:
    """Replays the rules on every month from `from_month` to `to_month` ("YYYY-MM" or dates) and
    returns the saved BacktestRun (its `result` as documented in docs/detection.md), or just the
    result dict with save=False. One SQL query per month, after numbering any purchase whose
    gap to the previous one is not kept yet (customers.detection.gaps)."""
    first, last, horizon_days = validate(from_month, to_month, horizon_days)
    number_purchases_first()
    started = time.monotonic()
    table = RuleTable.of(current_rules())
    grid = Grid(table)
    latest = latest_purchase_day()
    months, defectors = [], 0
    pooled = {name: np.zeros(3, dtype=np.int64) for name in RULE_SETS}  # flagged, true flags, dismissed
    for as_of in month_ends(first, last):
        month = fetch_month(as_of, horizon_days, table.keys)
        complete = latest is not None and as_of + dt.timedelta(days=horizon_days) <= latest
        row = {"month": f"{as_of:%Y-%m}", "as_of": as_of.isoformat(), "complete": complete}
        row.update(evaluate_month(table, month))
        for name in RULE_SETS:
            true_flags = row[name].pop("_true_flags")
            if complete:
                pooled[name] += [row[name]["flagged"], true_flags, row[name]["dismissed"]]
        if complete:
            grid.add(month)
            defectors += row["defectors"]
        months.append(row)
    totals = {
        name: {**scores(int(counts[0]), int(counts[1]), defectors), "dismissed": int(counts[2])}
        for name, counts in pooled.items()
    }
    names = {DEFAULT_KEY: str(_("Without a segment")), **dict(Segment.objects.values_list("pk", "name"))}
    complete_months = sum(1 for row in months if row["complete"])
    result = {
        "horizon_days": horizon_days,
        "latest_purchase": latest.isoformat() if latest else None,
        "complete_months": complete_months,
        "defectors": defectors,
        "months": months,
        "totals": totals,
        "suggestions": grid.suggestions(names) if complete_months else [],
    }
    if not save:
        return result
    return BacktestRun.objects.create(
        from_month=first,
        to_month=last,
        horizon_days=horizon_days,
        result=result,
        seconds=round(time.monotonic() - started, 3),
    )
