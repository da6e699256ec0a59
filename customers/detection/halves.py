"""A recompute of every customer over a big purchase table, on both cores: the customer ids are
split in two, and each of the two heavy statements (the figures from the purchases, then the
pass over the customers) runs for one half on the run's connection and for the other at once
on a second connection, each into an unlogged table; a temporary view joins the two.

The second connection works in a thread of its own (autocommit), so it sees committed data only:
the run numbers the purchases' gaps before (engine.number_purchases_first) and writes nothing the
halves read before the last of them is done. PostgreSQL's own parallel query does not serve
here: the planner cannot tell that only a few percent of the customers leave the pass over them,
and keeps it on one core.
"""

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from django.db import connection, connections

from customers.detection import sql as q

PREFIXES = ("detect_figures", "detect_rows")
# Read once and dropped: autovacuum would otherwise analyse the halves' tables during the run.
SCRATCH = "WITH (autovacuum_enabled = false)"


def _run(statements: list[tuple[str, dict]]):
    """Runs the statements in order on this thread's connection; the row of the last SELECT
    among them, or None."""
    row = None
    with connections["default"].cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
            if cursor.description:
                row = cursor.fetchone()
    return row


class Halves:
    """The two halves of the customer ids of one run, and the second connection's thread."""

    def __init__(self, run_id: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT min(id), max(id) FROM customers_customer")
            low, high = (value or 0 for value in cursor.fetchone())
        middle = (low + high) // 2 + 1
        self.run_id = run_id
        self.ranges = ({"id_from": low, "id_to": middle}, {"id_from": middle, "id_to": high + 1})
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="detection-half")
        self._submitted: list[Future] = []

    def submit(self, statements: list[tuple[str, dict]], **settings) -> Future:
        """Runs the statements on the second connection, after those submitted before, with the
        PostgreSQL `settings` (reset after them)."""
        statements = [
            *((f"SELECT set_config('{name}', %s, false)", [str(value)]) for name, value in settings.items()),
            *statements,
            *((f"RESET {name}", {}) for name in settings),
        ]
        future = self._pool.submit(_run, statements)
        self._submitted.append(future)
        return future

    def table(self, name: str, half: int) -> str:
        return f"{name}_part_{int(self.run_id)}{'_2' if half else ''}"

    def create(self, name: str, select: Callable[[int], str], params: dict, **settings) -> None:
        """Creates the temporary view `name` of the rows of `select(half)` (a SELECT of the
        customers from %(id_from)s up to %(id_to)s), each half into an unlogged table, the two
        at once; with the PostgreSQL `settings` for the statement. The tables are not analysed:
        the planner's estimates from their size served as well, and ANALYZE cost 0.2 s each."""
        first, second = (self.table(name, half) for half in (0, 1))
        future = self.submit(
            [
                (f"DROP TABLE IF EXISTS {second}", {}),
                (f"CREATE UNLOGGED TABLE {second} {SCRATCH} AS {select(1)}", {**params, **self.ranges[1]}),
            ],
            **settings,
        )
        try:
            q.execute(f"DROP TABLE IF EXISTS {first}")
            with q.local_settings(**settings):
                q.execute(f"CREATE UNLOGGED TABLE {first} {SCRATCH} AS {select(0)}", {**params, **self.ranges[0]})
        finally:
            future.exception()  # waits
        future.result()
        q.execute(f"CREATE TEMP VIEW {name} AS SELECT * FROM {first} UNION ALL SELECT * FROM {second}")

    def close(self) -> None:
        """Closes the second connection once its statement running now is done (a run that
        failed does not start those still waiting)."""
        for future in self._submitted:
            future.cancel()
        self._pool.submit(connections.close_all)
        self._pool.shutdown(wait=True)


def drop_view_or_table(name: str) -> None:
    """Drops `name`, a temporary table or (computed in halves) view."""
    kind = "TABLE"
    if q.is_postgres():
        with connection.cursor() as cursor:
            cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [name])
            row = cursor.fetchone()
        kind = "VIEW" if row and row[0] == "v" else "TABLE"
    q.execute(f"DROP {kind} IF EXISTS {name}")


def drop_tables(run_id: int) -> None:
    """Drops the halves' tables of a run (after its transaction, also when it rolled back)."""
    if q.is_postgres():
        names = [f"{prefix}_part_{int(run_id)}{suffix}" for prefix in PREFIXES for suffix in ("", "_2")]
        q.execute(f"DROP TABLE IF EXISTS {', '.join(names)}")
