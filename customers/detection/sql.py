"""The SQL of detection, written once with small dialect pieces: PostgreSQL in production and in
the tests, SQLite for the embedded default of `make run` (demo-sized data).

Everything is set-based: one pass over the purchases and refunds computes every customer's
figures, and one pass over the customers evaluates the rules. Times are compared against cut-offs computed
in Python (local midnights of the business time zone), so no SQL does time-zone arithmetic on
the big table.
"""

import datetime as dt
from contextlib import contextmanager
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection

from customers.models import Transaction


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def execute(sql: str, params: dict | None = None) -> int:
    """Runs a statement of detection on the run's connection; the number of rows it touched."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params or {})
        return cursor.rowcount


@contextmanager
def local_settings(**values):
    """PostgreSQL settings for the statements inside (SET LOCAL), the previous ones restored
    after; nothing on SQLite."""
    if not is_postgres():
        yield
        return
    previous = {}
    with connection.cursor() as cursor:
        for name, value in values.items():
            cursor.execute("SELECT current_setting(%s), set_config(%s, %s, true)", [name, name, str(value)])
            previous[name] = cursor.fetchone()[0]
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for name, value in previous.items():
                cursor.execute("SELECT set_config(%s, %s, true)", [name, value])


def local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


def db_time(value: dt.datetime):
    """A parameter for comparing with a datetime column: SQLite stores naive UTC text."""
    if is_postgres() or not isinstance(value, dt.datetime):
        return value
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.isoformat(sep=" ")


@dataclass(frozen=True)
class Windows:
    """The as-of day and the cut-offs of its windows: everything before `cut` (the end of the
    as-of day) counts; the trailing windows end there."""

    as_of: dt.date

    @property
    def cut(self) -> dt.datetime:
        return local_midnight(self.as_of + dt.timedelta(days=1))

    def days_back(self, days: int) -> dt.datetime:
        return local_midnight(self.as_of + dt.timedelta(days=1 - days))

    def params(self) -> dict:
        return {
            "as_of": self.as_of if is_postgres() else self.as_of.isoformat(),
            "cut": db_time(self.cut),
            "w90": db_time(self.days_back(90)),
            "w365": db_time(self.days_back(365)),
            "w455": db_time(self.days_back(455)),
            "w730": db_time(self.days_back(730)),
            "tz": settings.TIME_ZONE,
            "tz_offset": f"{int(self.cut.utcoffset().total_seconds() // 60):+d} minutes",
        }


def local_date(column: str) -> str:
    """The business-time-zone date of a timestamp column."""
    if is_postgres():
        return f"({column} AT TIME ZONE %(tz)s)::date"
    return f"date({column}, %(tz_offset)s)"


def days_since(column: str) -> str:
    """Whole days from the column's local date to the as-of day."""
    if is_postgres():
        return f"(%(as_of)s::date - {local_date(column)})"
    return f"CAST(julianday(%(as_of)s) - julianday({local_date(column)}) AS INTEGER)"


def days_between(later: str, earlier: str) -> str:
    if is_postgres():  # date_part is double precision; extract() is numeric (and slower) since PG 14
        return f"(date_part('epoch', {later} - {earlier}) / 86400.0)"
    return f"(julianday({later}) - julianday({earlier}))"


def greatest(*parts: str) -> str:
    """The largest non-null value (SQLite's max() is null if any argument is)."""
    if is_postgres():
        return f"greatest({', '.join(parts)})"
    return f"max({', '.join(f'coalesce({p}, {parts[0]})' for p in parts)})"


def json_object(pairs: dict[str, str]) -> str:
    items = ", ".join(f"'{key}', {expr}" for key, expr in pairs.items())
    return f"jsonb_build_object({items})" if is_postgres() else f"json_object({items})"


SIGNED = "CASE WHEN t.kind = 'refund' THEN -t.amount ELSE t.amount END"
PURCHASE = "t.kind = 'purchase'"


def _sources(scope: str, id_range: bool = False) -> str:
    """The purchases to read: every customer's ("all") or only those of customers whose figures
    are stale ("stale": the ids in the temporary table detect_stale, a nested loop over the
    covering (customer, time) index). With `id_range`, only customers from %(id_from)s up to
    (not including) %(id_to)s."""
    if scope == "stale":
        return "detect_stale s JOIN customers_transaction t ON t.customer_id = s.id WHERE t.occurred_at < %(cut)s"
    limit = " AND t.customer_id >= %(id_from)s AND t.customer_id < %(id_to)s" if id_range else ""
    return f"customers_transaction t WHERE t.occurred_at < %(cut)s{limit}"


def _window_orders(purchase: str, counted: str = "*") -> str:
    """The trailing windows' orders of the rows `t` (`purchase`: "" when every row counted is
    a purchase, else the condition followed by AND; `counted`: what count() counts)."""
    return (
        f"count({counted}) FILTER (WHERE {purchase}t.occurred_at >= %(w365)s) AS orders_365d, "
        f"count({counted}) FILTER (WHERE {purchase}t.occurred_at >= %(w730)s AND t.occurred_at < %(w365)s) "
        "AS orders_prev_365d, "
        f"count({counted}) FILTER (WHERE {purchase}t.occurred_at >= %(w90)s) AS orders_90d, "
        f"count({counted}) FILTER (WHERE {purchase}t.occurred_at >= %(w455)s AND t.occurred_at < %(w90)s) "
        "AS orders_90d_base"
    )


def _window_revenue(amount: str) -> str:
    """The trailing windows' revenue of the rows `t` (`amount`: the signed amount)."""
    return (
        f"coalesce(sum({amount}) FILTER (WHERE t.occurred_at >= %(w365)s), 0) AS revenue_365d, "
        f"coalesce(sum({amount}) FILTER (WHERE t.occurred_at >= %(w730)s AND t.occurred_at < %(w365)s), 0) "
        "AS revenue_prev_365d"
    )


def _postgres_figures(scope: str, id_range: bool) -> str:
    """One pass over the purchases and refunds in index order. The gap to the previous purchase
    is read from each purchase (customers.detection.gaps numbers them before the figures are
    computed: a lag() over every purchase here cost more than all the other figures together);
    refunds have none, so `count(gap_days)` counts the purchases and the median skips them."""
    purchase_time = "t.occurred_at) FILTER (WHERE t.kind = 'purchase')"
    return (
        f"SELECT t.customer_id, min({purchase_time} AS first_at, max({purchase_time} AS last_at, "
        f"count(t.gap_days) AS orders, coalesce(sum({SIGNED}), 0) AS revenue, "
        f"{_window_orders('', counted='t.gap_days')}, {_window_revenue(SIGNED)}, "
        f"percentile_cont(0.5) WITHIN GROUP (ORDER BY nullif(t.gap_days, {Transaction.FIRST_PURCHASE})) AS median_gap "
        f"FROM {_sources(scope, id_range)} GROUP BY t.customer_id"
    )


def figures_query(scope: str, id_range: bool = False) -> str:
    """One row per customer with purchases (or refunds) before the cut: lifetime figures, the
    trailing windows and the median gap between purchases (days)."""
    if is_postgres():
        return _postgres_figures(scope, id_range)
    previous_purchase = (
        "max(t.occurred_at) FILTER (WHERE t.kind = 'purchase') OVER ("
        "PARTITION BY t.customer_id ORDER BY t.occurred_at ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)"
    )
    gap = f"CASE WHEN {PURCHASE} THEN {days_between('t.occurred_at', previous_purchase)} END"
    columns = f"t.customer_id, t.occurred_at, t.kind, {SIGNED} AS signed, {gap} AS gap"
    inner = f"SELECT {columns} FROM {_sources(scope, id_range)}"
    aggregates = (
        "min(t.occurred_at) FILTER (WHERE t.kind = 'purchase') AS first_at, "
        "max(t.occurred_at) FILTER (WHERE t.kind = 'purchase') AS last_at, "
        "count(*) FILTER (WHERE t.kind = 'purchase') AS orders, "
        f"coalesce(sum(t.signed), 0) AS revenue, {_window_orders(f'{PURCHASE} AND ')}, "
        f"{_window_revenue('t.signed')}"
    )
    # SQLite has no percentile_cont: the median is the middle gap (or the mean of the two).
    return (
        f"WITH g AS ({inner}), "
        f"ranked AS (SELECT customer_id, gap, row_number() OVER (PARTITION BY customer_id ORDER BY gap) AS rn, "
        f"count(*) OVER (PARTITION BY customer_id) AS n FROM g WHERE gap IS NOT NULL), "
        f"med AS (SELECT customer_id, avg(gap) AS median_gap FROM ranked "
        f"WHERE rn IN ((n + 1) / 2, (n + 2) / 2) GROUP BY customer_id) "
        f"SELECT t.customer_id, {aggregates}, med.median_gap FROM g t "
        f"LEFT JOIN med ON med.customer_id = t.customer_id GROUP BY t.customer_id"
    )


FIGURE_COLUMNS = (
    ("first_purchase_at", "a.first_at"),
    ("last_purchase_at", "a.last_at"),
    ("order_count", "coalesce(a.orders, 0)"),
    ("lifetime_revenue", "coalesce(a.revenue, 0)"),
    ("orders_365d", "coalesce(a.orders_365d, 0)"),
    ("revenue_365d", "coalesce(a.revenue_365d, 0)"),
    ("orders_prev_365d", "coalesce(a.orders_prev_365d, 0)"),
    ("revenue_prev_365d", "coalesce(a.revenue_prev_365d, 0)"),
    ("orders_90d", "coalesce(a.orders_90d, 0)"),
    ("orders_90d_base", "coalesce(a.orders_90d_base, 0)"),
    ("median_gap_days", "a.median_gap"),
)


def annual_value(revenue: str, first: str, last: str) -> str:
    """Average order value × orders per year = revenue ÷ active years (at least one)."""
    years = f"coalesce({days_between(last, first)}, 0) / 365.25"
    return f"round(CAST({greatest(f'coalesce({revenue}, 0)', '0')} / {greatest(years, '1.0')} AS numeric), 2)"


def stale_table_sql() -> list[str]:
    """The customers whose figures are stale, in a small analysed temporary table, so that the
    planner reads their purchases through the index instead of scanning the whole table."""
    statements = [
        "DROP TABLE IF EXISTS detect_stale",
        "CREATE TEMP TABLE detect_stale AS SELECT id FROM customers_customer WHERE metrics_stale",
    ]
    return statements + (["ANALYZE detect_stale"] if is_postgres() else [])


EMPTY = {"first_purchase_at": None, "last_purchase_at": None, "median_gap_days": None}


def latest_cancellations() -> str:
    """Each customer's last cancellation as it stood at the cut (replays and repairs)."""
    return (
        "SELECT i.customer_id, max(i.occurred_at) AS at FROM customers_interaction i "
        "WHERE i.kind = 'cancellation' AND i.occurred_at < %(cut)s GROUP BY i.customer_id"
    )
