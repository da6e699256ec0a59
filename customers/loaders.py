"""Writing checked import rows: a staging table per import run, checks that need the whole file
(unknown customers, keys repeated in the file), and the set-based upsert into the real tables.

On PostgreSQL the rows are COPYed into an UNLOGGED staging table and moved with a few
INSERT … SELECT / UPDATE … FROM statements inside one transaction, as PERFORMANCE.md recommends.
SQLite (the embedded default of `make run`) gets the same staging table filled by batched
inserts and a plain ORM upsert: it only ever sees demo-sized files.
"""

import io
import logging
import time
from collections.abc import Iterator

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from django.db import connection

from customers import orm_loader
from customers.detection.gaps import gap_expression
from customers.detection.sql import annual_value
from customers.importers import RowError
from customers.models import Segment

STAGE_COLUMNS = {
    "transactions": [
        ("line", "bigint"),
        ("customer_ext", "text"),
        ("occurred_us", "bigint"),
        ("amount", "numeric(14,2)"),
        ("kind", "text"),
        ("external_id", "text"),
    ],
    "customers": [
        ("line", "bigint"),
        ("external_id", "text"),
        ("name", "text"),
        ("email", "text"),
        ("phone", "text"),
        ("company", "text"),
        ("segment", "text"),
        ("account_manager_id", "bigint"),
        ("language", "text"),
        ("do_not_contact", "boolean"),
    ],
    "interactions": [
        ("line", "bigint"),
        ("customer_ext", "text"),
        ("occurred_us", "bigint"),
        ("kind", "text"),
        ("summary", "text"),
        ("channel", "text"),
        ("owner_id", "bigint"),
    ],
}
# The columns that identify a row within one file: a repeat is an error.
FILE_KEYS = {
    "customers": ("external_id",),
    "transactions": ("customer_ext", "external_id"),
    "interactions": ("customer_ext", "occurred_us", "kind", "summary"),
}
logger = logging.getLogger(__name__)
PG_TIME = "(timestamptz 'epoch' + s.occurred_us * interval '1 microsecond')"
REPORT_LIMIT = 1000


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


class Stage:
    """The staging table of one import run (`import_stage_<id>`), created empty and dropped after."""

    def __init__(self, kind: str, run_id: int):
        self.kind = kind
        self.name = f"import_stage_{int(run_id)}"
        self.columns = [name for name, _ in STAGE_COLUMNS[kind]]

    def create(self) -> None:
        unlogged = "UNLOGGED " if is_postgres() else ""
        columns = ", ".join(f"{name} {kind}" for name, kind in STAGE_COLUMNS[self.kind])
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.name}")
            cursor.execute(f"CREATE {unlogged}TABLE {self.name} ({columns})")

    def drop(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.name}")

    def append(self, rows: pd.DataFrame) -> None:
        if rows.empty:
            return
        rows = rows[self.columns]
        if is_postgres():
            table = pa.Table.from_pandas(rows, preserve_index=False)
            buffer = io.BytesIO()
            pa_csv.write_csv(table, buffer, write_options=pa_csv.WriteOptions(include_header=False))
            with (
                connection.cursor() as cursor,
                cursor.copy(f"COPY {self.name} ({', '.join(self.columns)}) FROM STDIN (FORMAT csv)") as copy,
            ):
                copy.write(buffer.getvalue())
        else:
            placeholders = ", ".join(["%s"] * len(self.columns))
            values = [
                tuple(None if pd.isna(value) else _plain(value) for value in row)
                for row in rows.itertuples(index=False, name=None)
            ]
            with connection.cursor() as cursor:
                cursor.executemany(f"INSERT INTO {self.name} VALUES ({placeholders})", values)

    def count(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {self.name}")
            return cursor.fetchone()[0]

    def has_rows_without_key(self) -> bool:
        """A transactions file whose rows lack ids cannot be re-imported safely."""
        if self.kind != "transactions":
            return False
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {self.name} WHERE external_id IS NULL LIMIT 1")
            return cursor.fetchone() is not None

    # Checks over the whole file -------------------------------------------------------------

    @property
    def keys_enforced_by_upsert(self) -> bool:
        """A transactions upsert on PostgreSQL fails on a key repeated in the file (ON CONFLICT
        cannot touch a row twice), so the repeat check can wait for that rare failure."""
        return self.kind == "transactions" and is_postgres()

    def unknown_customer_errors(self, *, remove: bool) -> Iterator[RowError]:
        """Rows naming a customer that does not exist; with `remove` they leave the stage,
        otherwise at most REPORT_LIMIT are reported."""
        if self.kind == "customers":
            return
        limit = "" if remove else f" LIMIT {REPORT_LIMIT}"
        unknown = (
            f"SELECT s.line, s.customer_ext FROM {self.name} s WHERE NOT EXISTS "
            f"(SELECT 1 FROM customers_customer c WHERE c.external_id = s.customer_ext) ORDER BY s.line{limit}"
        )
        for line, customer in self.fetch(unknown):
            yield RowError(line, "customer_id", "unknown_customer", f'No customer has the id "{customer}".', customer)
        if remove:
            _execute(
                f"DELETE FROM {self.name} WHERE NOT EXISTS "
                f"(SELECT 1 FROM customers_customer c WHERE c.external_id = {self.name}.customer_ext)"
            )

    def repeated_key_errors(self, *, remove: bool) -> Iterator[RowError]:
        """Rows whose key appears more than once in the file, every copy reported with the line
        of the first; with `remove` they all leave the stage."""
        limit = "" if remove else f" LIMIT {REPORT_LIMIT}"
        keys = FILE_KEYS[self.kind]
        key_list = ", ".join(keys)
        not_null = " AND ".join(f"{key} IS NOT NULL" for key in keys)
        joined = " AND ".join(f"d.{key} = s.{key}" for key in keys)
        repeats = (
            f"SELECT s.line, d.first_line, d.copies, s.{keys[-1]} FROM {self.name} s JOIN "
            f"(SELECT {key_list}, min(line) AS first_line, count(*) AS copies FROM {self.name} "
            f"WHERE {not_null} GROUP BY {key_list} HAVING count(*) > 1) d ON {joined} ORDER BY s.line{limit}"
        )
        what = {"customers": "customer id", "transactions": "transaction id", "interactions": "row"}[self.kind]
        column = {"customers": "customer_id", "transactions": "external_id", "interactions": ""}[self.kind]
        for line, first_line, copies, value in self.fetch(repeats):
            other = f"first on line {first_line}" if line != first_line else "here first"
            message = f"The same {what} appears {copies} times in the file ({other})."
            value = value if self.kind != "interactions" else ""
            yield RowError(line, column, "duplicate_key", message, str(value)[:80])
        if remove:
            _execute(
                f"DELETE FROM {self.name} WHERE ({key_list}) IN (SELECT {key_list} FROM {self.name} "
                f"WHERE {not_null} GROUP BY {key_list} HAVING count(*) > 1)"
            )

    def fetch(self, sql: str) -> Iterator[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            while rows := cursor.fetchmany(2000):
                yield from rows

    # The upsert -----------------------------------------------------------------------------

    def upsert(self, *, present: list[str], actor_id: int | None) -> tuple[int, int, list[str]]:
        """Moves the staged rows into the real table. Returns (new, updated, notes)."""
        if is_postgres():
            return PG_UPSERTS[self.kind](self, present=present, actor_id=actor_id)
        return orm_loader.OrmUpsert(self, present=present, actor_id=actor_id).run()


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def _execute(sql: str, params=None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _pg_customers(stage: Stage, *, present: list[str], actor_id) -> tuple[int, int, list[str]]:
    notes = []
    defaults = {name: Segment._meta.get_field(name).default for name in ("at_risk_days", "defected_days")}
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO customers_segment (name, at_risk_days, defected_days, case_min_annual_value) "
            f"SELECT DISTINCT ON (lower(s.segment)) s.segment, %s, %s, 0 FROM {stage.name} s "
            f"WHERE s.segment IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM customers_segment g WHERE lower(g.name) = lower(s.segment)) "
            f"ORDER BY lower(s.segment), s.line RETURNING name",
            [defaults["at_risk_days"], defaults["defected_days"]],
        )
        created = sorted(row[0] for row in cursor.fetchall())
    if created:
        notes.append(f"New segments created with the default detection settings: {', '.join(created)}.")
    source = (
        f"(SELECT s.*, g.id AS segment_id FROM {stage.name} s "
        f"LEFT JOIN customers_segment g ON lower(g.name) = lower(s.segment))"
    )
    kept = {
        "phone": "coalesce(src.phone, c.phone)",
        "company": "coalesce(src.company, c.company)",
        "segment_id": "coalesce(src.segment_id, c.segment_id)",
        "account_manager_id": "coalesce(src.account_manager_id, c.account_manager_id)",
        "language": "coalesce(src.language, c.language)",
        "do_not_contact": "coalesce(src.do_not_contact, c.do_not_contact)",
    }
    columns = ["name", "email", *kept]
    new_values = ["src.name", "src.email", *kept.values()]
    updated = _execute(
        f"UPDATE customers_customer c SET {', '.join(f'{c} = {v}' for c, v in zip(columns, new_values, strict=True))},"
        f" updated_at = now() FROM {source} src WHERE c.external_id = src.external_id AND "
        f"({', '.join(f'c.{c}' for c in columns)}) IS DISTINCT FROM ({', '.join(new_values)})"
    )
    new = _execute(
        f"INSERT INTO customers_customer (external_id, name, email, phone, company, segment_id, "
        f"account_manager_id, language, do_not_contact, status, status_changed_at, preferred_channel, "
        f"contact_notes, order_count, lifetime_revenue, created_at, updated_at) "
        f"SELECT src.external_id, src.name, src.email, coalesce(src.phone, ''), coalesce(src.company, ''), "
        f"src.segment_id, src.account_manager_id, coalesce(src.language, 'en'), "
        f"coalesce(src.do_not_contact, false), 'active', now(), '', '', 0, 0, now(), now() FROM {source} src "
        f"WHERE NOT EXISTS (SELECT 1 FROM customers_customer c WHERE c.external_id = src.external_id)"
    )
    return new, updated, notes


def _pg_transactions(stage: Stage, *, present: list[str], actor_id) -> tuple[int, int, list[str]]:
    # One pass: ON CONFLICT on the (customer, transaction id) constraint updates what differs;
    # xmax = 0 tells an inserted row from an updated one. Rows without an id never conflict.
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH written AS (INSERT INTO customers_transaction AS t "
            f"(customer_id, external_id, occurred_at, amount, kind, gap_days) {_numbered_rows(stage)} "
            f"ON CONFLICT (customer_id, external_id) DO UPDATE SET occurred_at = EXCLUDED.occurred_at, "
            f"amount = EXCLUDED.amount, kind = EXCLUDED.kind, gap_days = NULL "
            f"WHERE (t.occurred_at, t.amount, t.kind) IS DISTINCT FROM "
            f"(EXCLUDED.occurred_at, EXCLUDED.amount, EXCLUDED.kind) "
            f"RETURNING (t.xmax = 0) AS inserted) "
            f"SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written"
        )
        new, updated = cursor.fetchone()
    if updated:
        # A purchase moved (or turned into a refund) changes its neighbours' gaps too: the next
        # detection run numbers every purchase of these customers again.
        _execute(
            f"UPDATE customers_transaction t SET gap_days = NULL FROM (SELECT DISTINCT c.id FROM {stage.name} s "
            f"JOIN customers_customer c ON c.external_id = s.customer_ext WHERE s.external_id IS NOT NULL) u "
            f"WHERE t.customer_id = u.id AND t.kind = 'purchase' AND t.gap_days IS NOT NULL"
        )
    started = time.monotonic()
    if new and not updated and new == stage.count():
        # Only new purchases: add their figures to the customers' (one pass over the stage).
        _add_purchase_figures(stage)
    elif new or updated:
        refresh_purchase_figures(
            f"SELECT DISTINCT c.id FROM {stage.name} s JOIN customers_customer c ON c.external_id = s.customer_ext"
        )
    logger.info("%s: purchase figures refreshed in %.1f s", stage.name, time.monotonic() - started)
    return new, updated, []


def _numbered_rows(stage: Stage) -> str:
    """The staged rows to insert, each purchase with its gap to the customer's previous purchase
    (customers.detection.gaps) where the file only appends to the customer's history: all its
    purchases later than their latest one. Otherwise the gap stays NULL, and the next detection
    run numbers the customer's purchases. In (customer, kind, time) order, which the windows
    need and the (customer, time) index grows best with."""
    customers = f"{stage.name} s JOIN customers_customer c ON c.external_id = s.customer_ext"
    latest = (
        "SELECT e.customer_id, max(e.occurred_at) AS at FROM customers_transaction e WHERE e.kind = 'purchase' "
        f"AND e.customer_id IN (SELECT c.id FROM {customers}) GROUP BY e.customer_id"
    )
    appended = "x.kind = 'purchase' AND (x.latest IS NULL OR x.first_at > x.latest)"
    gap = gap_expression("x.occurred_at", "coalesce(x.previous_at, x.latest)")
    return (
        f"SELECT x.customer_id, x.external_id, x.occurred_at, x.amount, x.kind, CASE WHEN {appended} THEN {gap} END "
        f"FROM (SELECT c.id AS customer_id, s.external_id, {PG_TIME} AS occurred_at, s.occurred_us, s.amount, "
        f"s.kind, l.at AS latest, lag({PG_TIME}) OVER (PARTITION BY c.id, s.kind ORDER BY s.occurred_us) "
        f"AS previous_at, min({PG_TIME}) FILTER (WHERE s.kind = 'purchase') OVER (PARTITION BY c.id) AS first_at "
        f"FROM {customers} LEFT JOIN ({latest}) l ON l.customer_id = c.id) x "
        "ORDER BY x.customer_id, x.kind, x.occurred_us"
    )


def _pg_interactions(stage: Stage, *, present: list[str], actor_id) -> tuple[int, int, list[str]]:
    source = (
        f"(SELECT c.id AS customer_id, {PG_TIME} AS occurred_at, s.kind, s.summary, s.channel, s.owner_id "
        f"FROM {stage.name} s JOIN customers_customer c ON c.external_id = s.customer_ext)"
    )
    match = "i.customer_id = src.customer_id AND i.occurred_at = src.occurred_at AND i.kind = src.kind"
    updated = _execute(
        f"UPDATE customers_interaction i SET channel = src.channel, owner_id = coalesce(src.owner_id, i.owner_id) "
        f"FROM {source} src WHERE {match} AND i.summary = src.summary "
        f"AND (i.channel, i.owner_id) IS DISTINCT FROM (src.channel, coalesce(src.owner_id, i.owner_id))"
    )
    new = _execute(
        f"INSERT INTO customers_interaction (customer_id, occurred_at, channel, kind, summary, owner_id, status, "
        f"due_at, resolved_at, created_by_id, created_at) "
        f"SELECT src.customer_id, src.occurred_at, src.channel, src.kind, src.summary, src.owner_id, 'resolved', "
        f"NULL, src.occurred_at, %s, now() FROM {source} src "
        f"WHERE NOT EXISTS (SELECT 1 FROM customers_interaction i WHERE {match} AND i.summary = src.summary)",
        [actor_id],
    )
    # Detection recomputes these customers at its next run; a cancellation makes them active defectors.
    _execute(
        f"UPDATE customers_customer c SET metrics_stale = true, last_cancellation_at = "
        f"greatest(c.last_cancellation_at, x.cancelled_at) FROM (SELECT c2.id, max({PG_TIME}) FILTER "
        f"(WHERE s.kind = 'cancellation') AS cancelled_at FROM {stage.name} s "
        f"JOIN customers_customer c2 ON c2.external_id = s.customer_ext GROUP BY c2.id) x WHERE c.id = x.id"
    )
    return new, updated, []


PG_UPSERTS = {"customers": _pg_customers, "transactions": _pg_transactions, "interactions": _pg_interactions}


def _add_purchase_figures(stage: Stage) -> int:
    """Adds the staged (all newly inserted) transactions to the customers' purchase figures, and
    the annual value that follows from them (as refresh_purchase_figures does), so that
    detection's next write of these customers changes no indexed column and stays heap-only."""
    first, last = "least(c.first_purchase_at, d.first_at)", "greatest(c.last_purchase_at, d.last_at)"
    value = annual_value("c.lifetime_revenue + d.revenue", first, last)
    return _execute(
        f"UPDATE customers_customer c SET first_purchase_at = {first}, last_purchase_at = {last}, "
        f"order_count = c.order_count + d.orders, lifetime_revenue = c.lifetime_revenue + d.revenue, "
        f"annual_value = {value}, metrics_stale = true FROM ("
        f"SELECT s.customer_ext, min({PG_TIME}) FILTER (WHERE s.kind = 'purchase') AS first_at, "
        f"max({PG_TIME}) FILTER (WHERE s.kind = 'purchase') AS last_at, "
        f"count(*) FILTER (WHERE s.kind = 'purchase') AS orders, "
        f"coalesce(sum(CASE WHEN s.kind = 'refund' THEN -s.amount ELSE s.amount END), 0) AS revenue "
        f"FROM {stage.name} s GROUP BY s.customer_ext) d WHERE c.external_id = d.customer_ext"
    )


def refresh_purchase_figures(customer_ids_sql: str | None = None) -> int:
    """Recomputes first/last purchase, order count and lifetime revenue (purchases minus refunds)
    of the customers selected by `customer_ids_sql` (all when None), writing only rows that
    change. Returns the number of customers updated."""
    if not is_postgres():
        return orm_loader.refresh_purchase_figures(customer_ids_sql)
    scope = f"WHERE t.customer_id IN ({customer_ids_sql})" if customer_ids_sql else ""
    if customer_ids_sql:  # changed purchases may move the windows even when these totals stay
        _execute(
            f"UPDATE customers_customer SET metrics_stale = true WHERE id IN ({customer_ids_sql}) AND NOT metrics_stale"
        )
    # The annual value too (it depends on these totals only), so that detection's own write of an
    # imported customer changes no indexed column and stays a cheap heap-only (HOT) update.
    value = annual_value("a.revenue", "a.first_at", "a.last_at")
    return _execute(
        f"UPDATE customers_customer c SET first_purchase_at = a.first_at, last_purchase_at = a.last_at, "
        f"order_count = a.orders, lifetime_revenue = a.revenue, annual_value = {value} FROM ("
        f"SELECT t.customer_id, min(t.occurred_at) FILTER (WHERE t.kind = 'purchase') AS first_at, "
        f"max(t.occurred_at) FILTER (WHERE t.kind = 'purchase') AS last_at, "
        f"count(*) FILTER (WHERE t.kind = 'purchase') AS orders, "
        f"coalesce(sum(CASE WHEN t.kind = 'refund' THEN -t.amount ELSE t.amount END), 0) AS revenue "
        f"FROM customers_transaction t {scope} GROUP BY t.customer_id) a WHERE c.id = a.customer_id AND "
        f"(c.first_purchase_at, c.last_purchase_at, c.order_count, c.lifetime_revenue, c.annual_value) "
        f"IS DISTINCT FROM (a.first_at, a.last_at, a.orders, a.revenue, {value})"
    )
