"""The customers' figures and RFM scores, computed from the purchases into detect_figures (a
temporary table, or for a recompute of everyone over a big table a view of two halves computed
at once on two connections, see customers.detection.halves), then written to each customer only
where something changed: by the nightly run here (nightly_write_sql), by a recompute of everyone
in customers.detection.recompute.

Writing a customer row is the expensive part of a run (the table carries the list pages'
indexes), so a run writes each customer's figures, scores and new status together, once.
"""

import datetime as dt
from contextlib import nullcontext
from decimal import Decimal

from django.conf import settings
from django.db import connection

from customers.detection import sql as q
from customers.detection.halves import Halves, drop_view_or_table

__all__ = ["differs", "fill_figures", "in_halves", "new_values", "nightly_write_sql", "rfm_cuts"]

TABLE = "detect_figures"
DIMENSIONS = {"r_score": "last_purchase_at", "f_score": "orders_365d", "m_score": "revenue_365d"}
SHARES = (0.2, 0.4, 0.6, 0.8)
VALUES = (*q.FIGURE_COLUMNS, ("annual_value", q.annual_value("a.revenue", "a.first_at", "a.last_at")))
COLUMNS = [column for column, _ in VALUES]


def _select(scope: str, id_range: bool = False) -> str:
    select = ", ".join(f"{expr} AS {column}" for column, expr in VALUES)
    return f"SELECT a.customer_id AS id, {select} FROM ({q.figures_query(scope, id_range=id_range)}) a"


def in_halves(scope: str) -> bool:
    """Two connections pay off only for a recompute of everyone over a big table."""
    if scope != "all" or not q.is_postgres():
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'customers_transaction'::regclass")
        estimate = cursor.fetchone()[0]
    return max(estimate, 0) >= settings.WINBACK_DETECTION_PARALLEL_MIN_TRANSACTIONS  # -1: never analysed


def _jit():
    """JIT compilation for the statement that computes the figures: it compiles the dozen
    aggregates once and runs them for every purchase (3.2 s instead of 4.7 s for half of 20M
    purchases). The run keeps it off otherwise (customers_customer statements only paid its
    compile time). PostgreSQL applies it above its cost thresholds only (not to small tables)."""
    return q.local_settings(jit="on")


def fill_figures(params: dict, scope: str, halves: Halves | None = None) -> None:
    """(Re)creates detect_figures: one row per customer in scope with purchases before the cut,
    named like the customer columns it will be written to; with `halves`, a view of two tables,
    each computed by its own connection (see customers.detection.halves)."""
    drop_view_or_table(TABLE)
    if halves:
        halves.create(TABLE, lambda half: _select("all", id_range=True), params, jit="on")
        return
    with _jit() if scope == "all" else nullcontext():
        q.execute(f"CREATE TEMP TABLE {TABLE} AS {_select(scope)}", params)
    if q.is_postgres():
        q.execute(f"ANALYZE {TABLE}")


def _aware(value) -> dt.datetime:
    """SQLite hands back naive UTC datetimes (or their text); PostgreSQL aware ones."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _population(scope: str) -> str:
    """The figures the quintiles are taken over: every customer who bought before the cut — the
    new figures where this run computed them, the kept ones elsewhere (a nightly run)."""
    if scope == "all":
        return f"SELECT last_purchase_at, orders_365d, revenue_365d FROM {TABLE}"
    pick = ", ".join(
        f"CASE WHEN f.id IS NULL THEN c.{column} ELSE f.{column} END AS {column}" for column in DIMENSIONS.values()
    )
    return f"SELECT {pick} FROM customers_customer c LEFT JOIN {TABLE} f ON f.id = c.id"


def rfm_cuts(scope: str, previous_cuts: dict | None) -> dict | None:
    """The 20/40/60/80th percentiles of recency, frequency and money (ties share a score), or
    the previous run's (a nightly run keeps them: a night's purchases hardly move the quintiles,
    and the weekly full run sets them afresh). None when nobody has bought."""
    if previous_cuts:
        return {
            "r_score": [dt.datetime.fromisoformat(value) for value in previous_cuts["r_score"]],
            "f_score": [int(value) for value in previous_cuts["f_score"]],
            "m_score": [Decimal(value) for value in previous_cuts["m_score"]],
        }
    population = f"SELECT * FROM ({_population(scope)}) p WHERE p.last_purchase_at IS NOT NULL"
    with connection.cursor() as cursor:
        if q.is_postgres():
            parts = ", ".join(
                f"percentile_disc(ARRAY{list(SHARES)}) WITHIN GROUP (ORDER BY {column})"
                for column in DIMENSIONS.values()
            )
            cursor.execute(f"SELECT {parts} FROM ({population}) p")
            cuts = dict(zip(DIMENSIONS, cursor.fetchone(), strict=True))
        else:
            cursor.execute(f"SELECT count(*) FROM ({population}) p")
            total = cursor.fetchone()[0]
            cuts = {score: [] for score in DIMENSIONS}
            for score, column in DIMENSIONS.items():
                for share in SHARES:
                    cursor.execute(
                        f"SELECT {column} FROM ({population}) p ORDER BY {column} LIMIT 1 OFFSET %s",
                        [max(int(total * share + 0.999999) - 1, 0)],
                    )
                    row = cursor.fetchone()
                    cuts[score].append(row[0] if row else None)
    if cuts["r_score"] is None or None in cuts["r_score"]:
        return None
    return cuts


def cuts_as_json(cuts: dict | None) -> dict:
    if not cuts:
        return {}
    return {
        "r_score": [_aware(value).isoformat() for value in cuts["r_score"]],
        "f_score": [int(value) for value in cuts["f_score"]],
        "m_score": [str(value) for value in cuts["m_score"]],
    }


def _scores(cuts: dict | None, prefix: str, params: dict) -> dict[str, str]:
    """{score: SQL expression} of each score from the row `prefix`'s figures (1 + the number of
    cut points below the value), adding the cut points to `params`."""
    if not cuts:
        return dict.fromkeys(DIMENSIONS, "CAST(NULL AS integer)")
    expressions = {}
    for score, column in DIMENSIONS.items():
        terms = []
        for index, value in enumerate(cuts[score]):
            params[f"{score}_{index}"] = q.db_time(value) if score == "r_score" else value
            terms.append(f"CASE WHEN {prefix}.{column} > %({score}_{index})s THEN 1 ELSE 0 END")
        expressions[score] = f"CASE WHEN {prefix}.last_purchase_at IS NULL THEN NULL ELSE 1 + {' + '.join(terms)} END"
    return expressions


EVALUATED = ("last_purchase_at", "annual_value", "median_gap_days", "order_count", "orders_90d", "orders_90d_base")
KEPT = ("status", "last_cancellation_at", "defection_activity_at", "won_back_at", "dismissed_at", "dismissed_until")


def evaluation_source() -> str:
    """The customers in detect_figures as the rules see them once this run's figures are written
    (so that a customer whose figures and status both change is written once)."""
    new = ", ".join(f"m.{column}" for column in EVALUATED)
    kept = ", ".join(f"c.{column}" for column in KEPT)
    return f"(SELECT c.id, c.segment_id, {kept}, {new} FROM {TABLE} m JOIN customers_customer c ON c.id = m.id)"


def differs(old: list[str], new: list[str]) -> str:
    """Whether any of the `old` values differs from its `new` one (NULLs compare as values)."""
    if q.is_postgres():
        return f"({', '.join(old)}) IS DISTINCT FROM ({', '.join(new)})"
    return "(" + " OR ".join(f"{a} IS NOT ({b})" for a, b in zip(old, new, strict=True)) + ")"


def new_values(cuts: dict | None, params: dict, prefix: str = "m") -> dict[str, str]:
    """{column: expression} of every figure and score from the row `prefix` of detect_figures,
    which is missing (NULL) for a customer without purchases before the cut: empty figures.
    Adds the cut points to `params`."""
    values = {
        column: f"{prefix}.{column}" if column in q.EMPTY else f"coalesce({prefix}.{column}, 0)" for column in COLUMNS
    }
    return {**values, **_scores(cuts, prefix, params)}


def nightly_write_sql(cuts: dict | None, params: dict, statuses: dict[str, str]) -> list[str]:
    """The nightly run's statements that write figures and scores where they change: first the
    customers in detect_figures, with the new status of those in detect_changes (`statuses`:
    {column: expression over its row `ch`}), then the stale ones without purchases, whose
    figures are empty. Adds the cut points to `params`."""
    scores = _scores(cuts, "m", params)
    targets = [*COLUMNS, *DIMENSIONS]
    new = [f"m.{column}" for column in COLUMNS] + list(scores.values())
    assignments = ", ".join(f"{column} = {value}" for column, value in zip(targets, new, strict=True))
    changed = differs([f"c.{column}" for column in targets] + ["c.metrics_stale"], [*new, "false"])
    status_set = ", ".join(
        f"{column} = CASE WHEN ch.id IS NULL THEN c.{column} ELSE {value} END" for column, value in statuses.items()
    )
    with_purchases = (
        f"UPDATE customers_customer AS c SET {assignments}, {status_set}, metrics_as_of = %(as_of)s, "
        f"metrics_stale = false FROM {TABLE} m LEFT JOIN detect_changes ch ON ch.id = m.id "
        f"WHERE c.id = m.id AND ({changed} OR ch.id IS NOT NULL)"
    )
    empty = {column: ("NULL" if column in q.EMPTY or column in DIMENSIONS else "0") for column in targets}
    differs_from_empty = " OR ".join(
        f"c.{column} IS NOT NULL" if value == "NULL" else f"c.{column} <> 0" for column, value in empty.items()
    )
    without_purchases = (
        f"UPDATE customers_customer AS c SET {', '.join(f'{k} = {v}' for k, v in empty.items())}, "
        f"metrics_as_of = %(as_of)s, metrics_stale = false WHERE c.id IN (SELECT id FROM detect_stale) "
        f"AND ({differs_from_empty} OR c.metrics_stale) AND NOT EXISTS (SELECT 1 FROM {TABLE} m WHERE m.id = c.id)"
    )
    return [with_purchases, without_purchases]
