"""The customers' figures and RFM scores: computed into a temporary table, then written to each
customer in one statement, only where something changed.

Writing a customer row is the expensive part of a run (the table carries the list pages'
indexes), so a run writes each customer's figures and scores together, once; a nightly run
writes a recomputed customer's new status in the same statement. Computing the figures needs a
window function over the purchases (the gap to the previous one), which PostgreSQL runs on one
core; for a recompute of every customer over a big table the pass is split in two customer-id
ranges computed at once on two connections (the second writes its half into an unlogged table,
which the run's own transaction copies and drops).
"""

import datetime as dt
import threading
from decimal import Decimal

from django.conf import settings
from django.db import connection, connections

from customers.detection import sql as q

__all__ = ["drop_parts", "fill_figures", "rfm_cuts", "write_figures_sql"]

TABLE = "detect_figures"
DIMENSIONS = {"r_score": "last_purchase_at", "f_score": "orders_365d", "m_score": "revenue_365d"}
SHARES = (0.2, 0.4, 0.6, 0.8)
VALUES = (*q.FIGURE_COLUMNS, ("annual_value", q.annual_value("a.revenue", "a.first_at", "a.last_at")))
COLUMNS = [column for column, _ in VALUES]


def _select(scope: str, id_range: bool = False) -> str:
    select = ", ".join(f"{expr} AS {column}" for column, expr in VALUES)
    return f"SELECT a.customer_id AS id, {select} FROM ({q.figures_query(scope, id_range=id_range)}) a"


def _execute(sql: str, params: dict | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or {})
        return cursor.rowcount


def _part_table(run_id: int) -> str:
    return f"detect_figures_part_{int(run_id)}"


def _parallel(scope: str) -> bool:
    """Two connections pay off only for a recompute of everyone over a big table. The second
    connection sees committed data only, which a run on a big table always is."""
    if scope != "all" or not q.is_postgres():
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'customers_transaction'::regclass")
        estimate = cursor.fetchone()[0]
    return max(estimate, 0) >= settings.WINBACK_DETECTION_PARALLEL_MIN_TRANSACTIONS  # -1: never analysed


def _compute_part(table: str, params: dict, errors: list) -> None:
    """The figures of the customers from `id_from` on, into an unlogged table (own connection)."""
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SET jit = off")
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(f"CREATE UNLOGGED TABLE {table} AS {_select('all', id_range=True)}", params)
    except Exception as error:  # re-raised by the run's thread
        errors.append(error)
    finally:
        connections.close_all()


def fill_figures(params: dict, scope: str, run_id: int, split: bool = True) -> int:
    """(Re)creates the temporary table detect_figures: one row per customer in scope with
    purchases before the cut, named like the customer columns it will be written to. Returns the
    number of connections that computed it. `split`: whether a second connection may compute
    half (not when this transaction has changed purchases, which it would not see)."""
    _execute(f"DROP TABLE IF EXISTS {TABLE}")
    if split and _parallel(scope):
        with connection.cursor() as cursor:
            cursor.execute("SELECT min(id), max(id) FROM customers_customer")
            low, high = cursor.fetchone()
        split = (low + high) // 2 + 1
        part, errors = _part_table(run_id), []
        worker = threading.Thread(
            target=_compute_part, args=(part, {**params, "id_from": split, "id_to": high + 1}, errors)
        )
        worker.start()
        try:
            _execute(
                f"CREATE TEMP TABLE {TABLE} AS {_select('all', id_range=True)}",
                {**params, "id_from": low, "id_to": split},
            )
        finally:
            worker.join()
        if errors:
            raise errors[0]
        _execute(f"INSERT INTO {TABLE} SELECT * FROM {part}")
        connections_used = 2
    else:
        _execute(f"CREATE TEMP TABLE {TABLE} AS {_select(scope)}", params)
        connections_used = 1
    if q.is_postgres():
        _execute(f"ANALYZE {TABLE}")
    return connections_used


def drop_parts(run_id: int) -> None:
    """Drops the second connection's table (after the run's transaction, also when it rolled back)."""
    if q.is_postgres():
        _execute(f"DROP TABLE IF EXISTS {_part_table(run_id)}")


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
        return dict.fromkeys(DIMENSIONS, "NULL")
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


def write_figures_sql(scope: str, cuts: dict | None, params: dict, statuses: dict[str, str] | None = None) -> list[str]:
    """The statements that write figures and scores where they change: first the customers in
    detect_figures, then those in scope without purchases before the cut (never bought, or only
    after it), whose figures are empty. Adds the cut points to `params`. With `statuses`
    ({column: expression over the row `ch` of detect_changes}), the first statement also writes
    the new status of the customers in detect_changes it updates."""
    scores = _scores(cuts, "m", params)
    targets = [*COLUMNS, *DIMENSIONS]
    new = [f"m.{column}" for column in COLUMNS] + list(scores.values())
    assignments = ", ".join(f"{column} = {value}" for column, value in zip(targets, new, strict=True))
    if q.is_postgres():
        old = ", ".join(f"c.{column}" for column in targets)
        changed = f"({old}, c.metrics_stale) IS DISTINCT FROM ({', '.join(new)}, false)"
    else:
        pairs = zip(targets, new, strict=True)
        changed = " OR ".join([f"c.{column} IS NOT ({value})" for column, value in pairs] + ["c.metrics_stale"])
    if statuses:
        status_set = ", ".join(
            f"{column} = CASE WHEN ch.id IS NULL THEN c.{column} ELSE {value} END" for column, value in statuses.items()
        )
        with_purchases = (
            f"UPDATE customers_customer AS c SET {assignments}, {status_set}, metrics_as_of = %(as_of)s, "
            f"metrics_stale = false FROM {TABLE} m LEFT JOIN detect_changes ch ON ch.id = m.id "
            f"WHERE c.id = m.id AND (({changed}) OR ch.id IS NOT NULL)"
        )
    else:
        with_purchases = (
            f"UPDATE customers_customer AS c SET {assignments}, metrics_as_of = %(as_of)s, metrics_stale = false "
            f"FROM {TABLE} m WHERE c.id = m.id AND ({changed})"
        )
    empty = {column: ("NULL" if column in q.EMPTY or column in DIMENSIONS else "0") for column in targets}
    differs = " OR ".join(
        f"c.{column} IS NOT NULL" if value == "NULL" else f"c.{column} <> 0" for column, value in empty.items()
    )
    in_scope = (
        "c.id IN (SELECT id FROM detect_stale)"
        if scope == "stale"
        else "(c.first_purchase_at IS NULL OR c.first_purchase_at >= %(cut)s)"
    )
    without_purchases = (
        f"UPDATE customers_customer AS c SET {', '.join(f'{k} = {v}' for k, v in empty.items())}, "
        f"metrics_as_of = %(as_of)s, metrics_stale = false WHERE {in_scope} AND ({differs} OR c.metrics_stale) "
        f"AND NOT EXISTS (SELECT 1 FROM {TABLE} m WHERE m.id = c.id)"
    )
    return [with_purchases, without_purchases]
