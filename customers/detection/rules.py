"""The defection rules as one SQL evaluation over every customer, used by the detection run and
by the settings page's live preview ("if saved now: 312 at risk, 95 defected").

For each customer, from the kept-current columns (no purchases are read):
- defected or lost, and bought since the defection began → won back;
- a cancellation after the last purchase (and after any dismissal) → defected (active);
- a dismissal still running, or never bought → unchanged;
- no purchase for the defected days — or, with the rhythm rule, for the multiple of the
  customer's median gap between purchases if that is longer → defected (passive);
- no purchase for the at-risk days, or the order rate of the last 90 days fell by the set share
  against the 365 days before (customers with enough orders, not won back within those 90 days:
  a comeback after a long absence always looks like a low rate) → at risk;
- at risk but none of that any more → active again (won back, if they once were).
"""

from dataclasses import dataclass, fields
from decimal import Decimal

from django.db import connection

from customers.detection.sql import Windows, days_since
from customers.models import DetectionSettings, Segment

DEFAULT_KEY = 0  # the rules row for customers without a segment


@dataclass(frozen=True)
class Rule:
    segment_key: int
    at_risk_days: int
    defected_days: int
    rhythm_enabled: bool
    rhythm_multiple: Decimal
    rate_drop_percent: int
    rate_drop_min_orders: int

    @classmethod
    def of(cls, key: int, source) -> "Rule":
        return cls(key, *(getattr(source, name) for name in Segment.RULE_FIELDS))


def current_rules() -> list[Rule]:
    rules = [Rule.of(DEFAULT_KEY, DetectionSettings.load())]
    return rules + [Rule.of(segment.pk, segment) for segment in Segment.objects.all()]


_CASTS = {int: "integer", bool: "boolean", Decimal: "numeric"}


def rules_sql(rules: list[Rule]) -> tuple[str, list]:
    """The rules as an inline table (a UNION ALL of one-row SELECTs, which both databases read)."""
    rows, params = [], []
    for rule in rules:
        columns = []
        for field in fields(Rule):
            value = getattr(rule, field.name)
            columns.append(f"CAST(%s AS {_CASTS[type(value)]}) AS {field.name}")
            params.append(value)
        rows.append("SELECT " + ", ".join(columns))
    return " UNION ALL ".join(rows), params


STATUS_CASE = """CASE
  WHEN b.old_status IN ('defected', 'lost') THEN CASE WHEN b.bought_since THEN 'won_back' ELSE b.old_status END
  WHEN b.cancelled THEN 'defected'
  WHEN b.dismissed OR b.last_purchase_at IS NULL THEN b.old_status
  WHEN b.days_since >= b.defected_days AND NOT (b.rhythm_enabled AND b.median_gap_days IS NOT NULL
       AND b.days_since < b.rhythm_multiple * b.median_gap_days) THEN 'defected'
  WHEN b.days_since >= b.at_risk_days OR b.rate_drop THEN 'at_risk'
  WHEN b.old_status = 'at_risk' THEN CASE WHEN b.won_back_at IS NOT NULL THEN 'won_back' ELSE 'active' END
  ELSE b.old_status
END"""

RULE_CASE = """CASE
  WHEN e.new_status = 'won_back' AND e.old_status IN ('defected', 'lost') THEN 'won_back'
  WHEN e.new_status = 'defected' AND e.cancelled THEN 'cancellation'
  WHEN e.new_status = 'defected' THEN 'inactive_defected'
  WHEN e.new_status = 'at_risk' AND e.days_since >= e.at_risk_days THEN 'inactive_at_risk'
  WHEN e.new_status = 'at_risk' THEN 'rate_drop'
  ELSE 'bought_again'
END"""


def evaluation_sql(
    rules: list[Rule], source: str = "customers_customer", where: str = "", carried: tuple[str, ...] = ()
) -> tuple[str, list]:
    """SELECT of every customer with its current and its new status (`%(…)s` parameters from
    Windows.params() plus the returned positional ones, merged by `named`). `source`: the
    customers table, or a subquery with its columns (the run's new figures before they are
    written); `where`: a condition on the customers `c`; `carried`: more columns of the source
    to pass through."""
    rules_table, rule_params = rules_sql(rules)
    condition = f" WHERE {where}" if where else ""
    extra = "".join(f", c.{column}" for column in carried)
    base = f"""SELECT c.id, c.status AS old_status, c.last_purchase_at, c.last_cancellation_at,
        c.defection_activity_at, c.won_back_at, c.annual_value, c.median_gap_days, c.order_count,
        c.orders_90d, c.orders_90d_base,
        r.at_risk_days, r.defected_days, r.rhythm_enabled, r.rhythm_multiple, r.rate_drop_percent,
        {days_since("c.last_purchase_at")} AS days_since,
        (c.last_cancellation_at IS NOT NULL AND c.last_cancellation_at < %(cut)s
         AND (c.last_purchase_at IS NULL OR c.last_cancellation_at > c.last_purchase_at)
         AND (c.dismissed_at IS NULL OR c.last_cancellation_at > c.dismissed_at
              OR c.dismissed_until < %(as_of)s)) AS cancelled,
        (c.dismissed_until IS NOT NULL AND c.dismissed_until >= %(as_of)s) AS dismissed,
        (c.order_count >= r.rate_drop_min_orders AND c.orders_90d_base > 0
         AND c.orders_90d * 365.0 <= (100 - r.rate_drop_percent) / 100.0 * c.orders_90d_base * 90.0
         AND (c.won_back_at IS NULL OR c.won_back_at < %(w90)s)) AS rate_drop,
        (c.last_purchase_at IS NOT NULL AND c.defection_activity_at IS NOT NULL
         AND c.last_purchase_at > c.defection_activity_at) AS bought_since{extra}
      FROM {source} c
      JOIN ({rules_table}) r ON r.segment_key = coalesce(c.segment_id, {DEFAULT_KEY}){condition}"""
    return f"SELECT b.*, {STATUS_CASE} AS new_status FROM ({base}) b", rule_params


def named(sql: str, named_params: dict, positional: list) -> tuple[str, dict]:
    """Turns the positional `%s` of the rules table into named parameters, so one dict carries all."""
    parts = sql.split("%s")
    out = [parts[0]]
    params = dict(named_params)
    for index, (part, value) in enumerate(zip(parts[1:], positional, strict=True)):
        params[f"rule_{index}"] = value
        out.append(f"%(rule_{index})s{part}")
    return "".join(out), params


def preview_counts(rules: list[Rule], windows: Windows) -> dict[str, int]:
    """Customers per status if these rules were saved now, and how many would newly move there."""
    sql, positional = evaluation_sql(rules)
    sql, params = named(
        f"SELECT new_status, count(*), sum(CASE WHEN new_status <> old_status THEN 1 ELSE 0 END) FROM ({sql}) e "
        f"GROUP BY new_status",
        windows.params(),
        positional,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    counts = {status: 0 for status in ("active", "at_risk", "defected", "won_back", "lost")}
    newly = dict(counts)
    for status, total, moving in rows:
        counts[status] = total
        newly[status] = int(moving or 0)
    return {**counts, **{f"new_{status}": value for status, value in newly.items()}}
