"""A recompute of every customer (a replay of a past day, or a repair), after the figures.

One pass over the customers, joined to their new figures (detect_figures) and to their last
cancellation as it stood at the cut, evaluates the rules on the new figures and keeps the
customers whose figures, scores, cancellation or status change — a few percent of them on a
replay of the next day — in the temporary table detect_rows (its status changes also in
detect_changes). One UPDATE by primary key then writes each of them once.

The pass replaces five over the customers table (the cancellations, the writes of customers with
and without purchases, the evaluation, a count); the count of customers scanned is taken on a
second connection meanwhile when the figures were computed on two.
"""

from collections.abc import Callable

from django.db import connection

from customers.detection import figures
from customers.detection import sql as q
from customers.detection.halves import Halves, drop_view_or_table
from customers.detection.rules import RULE_CASE, Rule, evaluation_sql, named

ROWS = "detect_rows"
CARRIED = ("first_purchase_at", "lifetime_revenue", "orders_365d", "revenue_365d", "orders_prev_365d")
CARRIED += ("revenue_prev_365d", *figures.DIMENSIONS, "figures_changed", "cancellation_changed")
KEPT = ("segment_id", "status", "defection_activity_at", "won_back_at", "dismissed_at", "dismissed_until")


def _source(cuts: dict | None, params: dict, figures_table: str, id_range: bool) -> str:
    """Every customer as the rules see them after this run: the new figures and scores, the
    last cancellation before the cut, and whether those differ from what the row holds. With
    `id_range`, the customers from %(id_from)s up to %(id_to)s."""
    new = figures.new_values(cuts, params)
    targets = list(new)
    changed = figures.differs(
        [f"c.{column}" for column in targets] + ["c.metrics_stale"], [new[column] for column in targets] + ["false"]
    )
    cancellation_changed = figures.differs(["c.last_cancellation_at"], ["x.at"])
    kept = ", ".join(f"c.{column}" for column in KEPT)
    values = ", ".join(f"{expression} AS {column}" for column, expression in new.items())
    where = " WHERE c.id >= %(id_from)s AND c.id < %(id_to)s" if id_range else ""
    return (
        f"(SELECT c.id, {kept}, x.at AS last_cancellation_at, {values}, {changed} AS figures_changed, "
        f"{cancellation_changed} AS cancellation_changed FROM customers_customer c "
        f"LEFT JOIN {figures_table} m ON m.id = c.id "
        f"LEFT JOIN ({q.latest_cancellations()}) x ON x.customer_id = c.id{where})"
    )


def select_rows(rules: list[Rule], cuts: dict | None, params: dict, won_at: str, halves: Halves | None) -> int:
    """Creates detect_rows and detect_changes (see the module); returns the number of customers
    whose figures or scores change. `won_at`: the expression of a win-back's first purchase;
    `halves`: the pass in two halves at once, each over its half's figures."""

    def select(figures_table: str, id_range: bool) -> tuple[str, dict]:
        source_params = dict(params)
        source = _source(cuts, source_params, figures_table, id_range)
        evaluation, positional = evaluation_sql(rules, source, carried=CARRIED)
        return named(
            f"SELECT e.*, {RULE_CASE} AS rule, CASE WHEN e.new_status = 'won_back' AND e.old_status IN "
            f"('defected', 'lost') THEN {won_at} END AS won_at FROM ({evaluation}) e "
            "WHERE e.new_status <> e.old_status OR e.figures_changed OR e.cancellation_changed",
            source_params,
            positional,
        )

    drop_view_or_table(ROWS)
    if halves:
        _, select_params = select(figures.TABLE, True)
        halves.create(
            ROWS,
            lambda half: select(halves.table(figures.TABLE, half), True)[0],
            select_params,
            max_parallel_workers_per_gather=0,  # each half on a core of its own
            enable_indexscan="off",
        )
    else:
        sql, select_params = select(figures.TABLE, False)
        q.execute(f"CREATE TEMP TABLE {ROWS} AS {sql}", select_params)
        if q.is_postgres():
            q.execute(f"ANALYZE {ROWS}")
    q.execute("DROP TABLE IF EXISTS detect_changes")
    q.execute(f"CREATE TEMP TABLE detect_changes AS SELECT * FROM {ROWS} WHERE new_status <> old_status")
    if q.is_postgres():
        q.execute("ANALYZE detect_changes")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {ROWS} WHERE figures_changed")
        return cursor.fetchone()[0]


def write_rows(statuses: dict[str, str], params: dict) -> int:
    """Writes detect_rows to the customers, each row once: its figures, scores and last
    cancellation, and its new status (`statuses`: {column: expression over the row `ch`})."""
    columns = [*figures.COLUMNS, *figures.DIMENSIONS, "last_cancellation_at"]
    assignments = [f"{column} = ch.{column}" for column in columns]
    moved = "ch.new_status <> ch.old_status"
    assignments += [
        f"{column} = CASE WHEN {moved} THEN {value} ELSE c.{column} END" for column, value in statuses.items()
    ]
    assignments += ["metrics_as_of = CASE WHEN ch.figures_changed THEN %(as_of)s ELSE c.metrics_as_of END"]
    return q.execute(
        f"UPDATE customers_customer AS c SET {', '.join(assignments)}, metrics_stale = false "
        f"FROM {ROWS} ch WHERE c.id = ch.id",
        params,
    )


def count_customers(halves: Halves | None) -> Callable[[], int]:
    """The number of customers: a function that returns it. With `halves`, counted on the
    second connection while this one takes the cut points (customers are not added or removed
    by a run; imports wait for it), by reading the table itself: after a replay's writes the
    visibility map is stale, and the index-only count the planner picks from its statistics
    visits the heap for every entry (3.1 s instead of 0.4 s on a million customers)."""
    statement = "SELECT count(*) FROM customers_customer"
    if halves:
        counted = halves.submit(
            [(statement, {})],
            max_parallel_workers_per_gather=0,
            enable_indexonlyscan="off",
            enable_indexscan="off",
            enable_bitmapscan="off",
        )
        return lambda: counted.result()[0]
    with connection.cursor() as cursor:
        cursor.execute(statement)
        total = cursor.fetchone()[0]
    return lambda: total
