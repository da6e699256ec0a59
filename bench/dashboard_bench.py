"""Dashboard benchmark (issue 6, "Done when"): with 1,000,000 customers and 20,000,000 purchases,
(a) a plain aggregate over the transactions table, (b) a full fact refresh
(`winback.dashboard.refresh.refresh_facts()`, target ≤ 3× (a) in the same run) and (c) the server
time of the dashboard page for an executive (target p95 < 300 ms), with its query count.

    python bench/dashboard_bench.py                  # make bench: clones winback_bench_cases
    python bench/dashboard_bench.py --reuse --keep   # measure a kept database again
    python bench/dashboard_bench.py --customers 300 --transactions 5000 --cases 200 --managers 5 --requests 10 \
        --database-url postgres://winback:winback@127.0.0.1:5432/winback_bench_dash_tiny   # make bench-tiny

Full size: clones the case pages' kept database (`--template-db`, default winback_bench_cases:
1,000,000 customers, 20,000,000 purchases, 100,000 open and 20,000 closed cases; only read, never
changed — CREATE DATABASE … TEMPLATE needs it without connections) into a database of its own
(default winback_bench_dash, dropped and recreated), migrates it (the fact tables) and adds what
the dashboard needs with bench/dashboard_data.py (24 months of defections, survey invitations,
decided offers, corrective actions). Smaller sizes generate customers and purchases
(bench/generate.py), load them with plain SQL and add the cases with bench/cases_data.py first.
`--reuse` measures an existing database without cloning or shaping it (it still migrates).

Then VACUUM ANALYZE and CHECKPOINT, and in this process (winback.settings.local, DEBUG off):

a. **aggregate**: `CREATE TEMP TABLE … AS SELECT customer_id, count(*), sum(amount),
   max(occurred_at) FROM customers_transaction GROUP BY customer_id` (run to completion, no client
   transfer), median of `--repeats`;
b. **refresh**: `refresh_facts(trigger="bench")`, median of `--refresh-repeats`, each statement timed
   through Django's execute wrapper (the slowest are printed; with `--explain`, their EXPLAIN
   ANALYZE in a rolled-back transaction);
c. **page**: `dashboard:home` through Django's test Client as an executive, `--requests` times per
   filter variant (default period, a quarter, a year, a segment, an account manager) after a
   warm-up; queries counted on three requests of each variant, and one more request checked for a
   query that touches customers_transaction (the page must read the fact tables only).

Exit 1 when the refresh fails or the page is missing or answers other than 200; with `--strict`
also when a target is missed. `--keep` keeps the database.
"""

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bench import generate  # noqa: E402
from bench.harness import (  # noqa: E402
    checkpoint,
    code_version,
    dedicated_database,
    maintenance_conninfo,
    pg_settings,
    print_settings,
    recreate_database,
    release_database,
    setup_django,
)
from bench.pages_bench import PageResult, time_page  # noqa: E402


@dataclass
class DashboardResult(PageResult):
    reads_transactions: bool = False  # a page query touches customers_transaction (issue 6 forbids it)


DEFAULT_DATABASE_URL = "postgres://winback:winback@127.0.0.1:5432/winback_bench_dash"
TEMPLATE = "winback_bench_cases"
REFRESH_TARGET = 3.0  # × the aggregate
PAGE_TARGET_MS = 300.0
AGGREGATE_SQL = (
    "CREATE TEMP TABLE bench_aggregate AS SELECT customer_id, count(*) AS purchases, sum(amount) AS amount,"
    " max(occurred_at) AS last_at FROM customers_transaction GROUP BY customer_id"
)
VACUUMED = (
    "customers_transaction",
    "customers_customer",
    "customers_defectionevent",
    "surveys_invitation",
    "cases_case",
    "cases_offer",
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--transactions", type=int, default=20_000_000)
    parser.add_argument("--cases", type=int, default=200, help="open cases (small sizes only)")
    parser.add_argument("--managers", type=int, default=5, help="account managers (small sizes only)")
    parser.add_argument("--requests", type=int, default=100, help="timed requests per filter variant")
    parser.add_argument("--repeats", type=int, default=3, help="runs of the aggregate")
    parser.add_argument("--refresh-repeats", type=int, default=2, help="runs of the refresh")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data", type=Path, default=ROOT / "bench" / "data")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DASH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--template-db", default=TEMPLATE, help="the kept 1M-customer database with cases to clone")
    parser.add_argument("--reuse", action="store_true", help="measure the database as it is when it exists")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the refresh's slowest statements")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed too")
    return parser.parse_args(argv)


def database_exists(url: str, name: str) -> bool:
    with psycopg.connect(maintenance_conninfo(url), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def clone(url: str, database: str, template: str) -> float:
    """Recreates `database` as a copy of `template` (which is only read)."""
    with psycopg.connect(maintenance_conninfo(url), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [template]).fetchone():
            raise SystemExit(f"{template} is missing; run bench/pages_bench.py --keep first")
        users = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [template]).fetchone()[0]
        if users:
            raise SystemExit(f"{template} has {users} open connection(s); CREATE DATABASE … TEMPLATE needs none")
        started = time.perf_counter()
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}" TEMPLATE "{template}"')
        return time.perf_counter() - started


def prepare(args, database: str) -> bool:
    """The database with customers, purchases and cases; True when it still needs shaping."""
    from django.core.management import call_command

    if args.reuse and database_exists(args.database_url, database):
        setup_django(args.database_url, migrate=False)
        call_command("migrate", interactive=False, verbosity=0)
        print(f"database: reusing {database}")
        return False
    if args.customers == 1_000_000 and args.transactions == 20_000_000:
        seconds = clone(args.database_url, database, args.template_db)
        print(f"database: cloned {database} from {args.template_db} in {seconds:.1f} s")
        setup_django(args.database_url)
        return True
    recreate_database(args.database_url, database)
    setup_django(args.database_url)
    load_small_with_cases(args)
    return True


def load_small_with_cases(args) -> None:
    from bench.cases_data import add_cases
    from bench.pages_bench import load_small

    load_small(
        *generate.generate(
            args.data / f"dashboard_{args.customers}_{args.transactions}",
            customers=args.customers,
            transactions=args.transactions,
            years=3,
            seed=args.seed,
        )
    )
    data = add_cases(cases=args.cases, closed=args.cases // 5, managers=args.managers, heavy=2)
    print(f"cases: added in {data.seconds:.1f} s")


def vacuum_analyze(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for table in VACUUMED:
            conn.execute(f"VACUUM ANALYZE {table}")
    checkpoint(url)


def time_aggregate(repeats: int) -> list[float]:
    from django.db import connection

    seconds = []
    with connection.cursor() as cursor:
        for _ in range(repeats):
            started = time.perf_counter()
            cursor.execute(AGGREGATE_SQL)
            seconds.append(time.perf_counter() - started)
            cursor.execute("DROP TABLE bench_aggregate")
    return seconds


class StatementTimer:
    """Django execute wrapper: the seconds of every statement the refresh runs."""

    def __init__(self):
        self.statements: list[tuple[float, str, object]] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.statements.append((time.perf_counter() - started, sql, params))


def time_refresh(repeats: int) -> tuple[list[float], StatementTimer, object]:
    from django.db import connection

    from winback.dashboard.refresh import refresh_facts

    seconds, timer, run = [], StatementTimer(), None
    for _ in range(repeats):
        timer = StatementTimer()
        started = time.perf_counter()
        with connection.execute_wrapper(timer):
            run = refresh_facts(trigger="bench")
        seconds.append(time.perf_counter() - started)
    return seconds, timer, run


def explain(statements, count: int = 3) -> None:
    """EXPLAIN ANALYZE of the slowest statements, each in a transaction that is rolled back."""
    from django.db import connection, transaction

    slowest = sorted((s for s in statements if s[1].lstrip().upper().startswith(("INSERT", "SELECT"))), reverse=True)
    for seconds, sql, params in slowest[:count]:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            transaction.set_rollback(True)
        print(f"\nEXPLAIN ANALYZE ({seconds:.2f} s in the refresh): {sql[:300]}\n{plan}")


def page_variants() -> dict[str, str] | Exception:
    """The filter variants of the dashboard URL (an exception when the page does not exist)."""
    from django.contrib.auth import get_user_model
    from django.urls import NoReverseMatch, reverse

    from customers.models import Segment

    try:
        url = reverse("dashboard:home")
    except NoReverseMatch as error:
        return error
    today = dt.date.today()
    quarter = (today.month - 1) // 3  # the last complete quarter
    year, quarter = (today.year, quarter) if quarter else (today.year - 1, 4)
    segment = Segment.objects.order_by("pk").values_list("pk", flat=True).first()
    manager = (
        get_user_model().objects.filter(username__startswith="bench-am-").order_by("username").values_list("pk").first()
    )
    return {
        "default period": url,
        f"quarter {year}-Q{quarter}": f"{url}?period=quarter&quarter={year}-Q{quarter}",
        f"year {today.year - 1}": f"{url}?period=year&year={today.year - 1}",
        "a segment": f"{url}?segment={segment}",
        "an account manager": f"{url}?manager={manager[0] if manager else 'none'}",
    }


def measure_page(requests: int) -> list[DashboardResult]:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    variants = page_variants()
    if isinstance(variants, Exception):
        return [DashboardResult("dashboard (dashboard:home)", "-", error=f"no such page yet ({variants})")]
    executive = get_user_model().objects.filter(username="bench-exec").first()
    if executive is None:
        return [DashboardResult("dashboard (dashboard:home)", "-", error="no bench-exec user (bench/cases_data.py)")]
    client = Client(raise_request_exception=False)
    client.force_login(executive)
    # Static URLs without collectstatic's manifest (production reads it once; a lookup costs the same).
    plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    results = []
    with override_settings(STORAGES={**settings.STORAGES, "staticfiles": plain}):
        for label, url in variants.items():
            result = DashboardResult("dashboard (dashboard:home)", f"executive, {label}")
            time_page(result, [(client, url)] * 3, requests)
            with CaptureQueriesContext(connection) as captured:
                client.get(url)
            result.reads_transactions = any("customers_transaction" in q["sql"] for q in captured.captured_queries)
            results.append(result)
    return results


def page_ok(result: DashboardResult) -> bool:
    return (
        not result.error
        and result.statuses == {200}
        and not result.reads_transactions
        and result.percentile(0.95) < PAGE_TARGET_MS
    )


def report(
    aggregate: list[float], refresh: list[float], timer, run, pages: list[DashboardResult], requests: int
) -> bool:
    base, fact = statistics.median(aggregate), statistics.median(refresh) if refresh else float("nan")
    ratio = fact / base
    refresh_ok = run is not None and run.status == "done" and ratio <= REFRESH_TARGET
    print("\n| figure | seconds | × aggregate | target | result |")
    print("| --- | --- | --- | --- | --- |")
    runs = ", ".join(f"{s:.2f}" for s in aggregate)
    print(f"| (a) aggregate over customers_transaction (median of {runs}) | {base:.2f} | 1.00 | | |")
    runs = ", ".join(f"{s:.2f}" for s in refresh)
    print(
        f"| (b) refresh_facts() (median of {runs}) | {fact:.2f} | {ratio:.2f} | ≤ {REFRESH_TARGET:.0f}× |"
        f" {'PASS' if refresh_ok else 'FAIL'} |"
    )
    if run is not None:
        print(f"\nrefresh {run.pk}: {run.status}, {run.seconds:.2f} s inside, rows {run.rows}")
    print("\nthe refresh's slowest statements (last run):")
    for seconds, sql, _params in sorted(timer.statements, key=lambda s: s[0], reverse=True)[:6]:
        print(f"  {seconds:7.2f} s  {' '.join(sql.split())[:160]}")

    print(f"\n(c) server time in process (Django test Client, DEBUG off), {requests} requests per row\n")
    print("| page | as | p50 ms | p95 ms | max ms | queries | result |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in pages:
        if r.error:
            print(f"| {r.page} | {r.viewer} | | | | | MISSING: {r.error} |")
            continue
        queries = f"{min(r.queries)}–{max(r.queries)}" if min(r.queries) != max(r.queries) else str(r.queries[0])
        status = "" if r.statuses == {200} else f" (answers {sorted(r.statuses)})"
        status += " (reads customers_transaction)" if r.reads_transactions else ""
        print(
            f"| {r.page} | {r.viewer} | {r.percentile(0.5):.1f} | {r.percentile(0.95):.1f} | {max(r.times_ms):.1f}"
            f" | {queries} | {'PASS' if page_ok(r) else 'FAIL'}{status} |"
        )
    for r in pages:
        if not r.error and r.percentile(0.95) >= PAGE_TARGET_MS:
            print(f"\nslowest queries of {r.viewer}:")
            for ms, sql in r.slowest:
                print(f"  {ms:8.1f} ms  {sql[:300]}")
    return refresh_ok and all(page_ok(r) for r in pages)


def main(argv=None) -> int:
    args = parse_args(argv)
    database = dedicated_database(args.database_url)
    if database == args.template_db:
        raise SystemExit("the benchmark database must not be the template")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    print(f"code: {code_version()}")
    ok = valid = False
    try:
        needs_shaping = prepare(args, database)
        if needs_shaping:
            from bench.dashboard_data import shape

            print("dashboard data: " + ", ".join(f"{k} {v:,}" for k, v in shape().items()))
        from django.conf import settings

        vacuum_analyze(args.database_url)
        print(f"DEBUG = {settings.DEBUG}")
        aggregate = time_aggregate(args.repeats)
        checkpoint(args.database_url)
        refresh, timer, run = time_refresh(args.refresh_repeats)
        pages = measure_page(args.requests)
        ok = report(aggregate, refresh, timer, run, pages, args.requests)
        valid = run is not None and run.status == "done" and all(not r.error and r.statuses == {200} for r in pages)
        if args.explain:
            explain(timer.statements)
        print_settings(pg_settings(args.database_url))
        print(f"\ncode: {code_version()}")
    finally:
        release_database(args.database_url, database, keep=args.keep or args.reuse)
    return 0 if valid and (ok or not args.strict) else 1


if __name__ == "__main__":
    sys.exit(main())
