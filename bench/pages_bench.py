"""Case pages benchmark: the server time of the queue, the board and the case page with
1,000,000 customers and 100,000 open cases (issue 5, "Done when": p95 < 150 ms, a fixed number of
queries).

    python bench/pages_bench.py                                   # make bench: 1M customers, 100k cases
    python bench/pages_bench.py --customers 300 --transactions 5000 --cases 200 --requests 20   # tiny

Full size: clones the loaded detection-bench database (`--template-db`, default
winback_bench_loaded: 1,000,000 customers and 20,000,000 purchases; never changed here) into a
database of its own (default winback_bench_cases, dropped and recreated), migrates it and adds the
cases with bench/cases_data.py (set-based). Smaller sizes generate the customers and purchases with
bench/generate.py and load them with plain SQL. Then VACUUM ANALYZE and, in this process, with the
settings the other benchmarks use (winback.settings.local, DEBUG off, so the cached template loader
and no query log), Django's test Client requests each page `--requests` times after a warm-up:

- the queue (`cases:queue`) as an administrator, who sees every open case (pages 1–5 in turn), and
  as the account managers, each with their own share (about 1/50 of the cases each);
- the board (`cases:board`) as the administrator and as the managers;
- the case page (`cases:detail`) as the owner, on the heaviest cases (300 history rows, 60
  activities, 15 offers, 25 tasks, 20 complaints, the customers with the most purchases) and on
  ordinary ones.

The time is measured around `client.get()`: the whole request through the middleware, the view
and the template, no network. Queries are counted on five different requests of each page (other
users, other cases, other queue pages): they may differ by one at most (a queue page that
straddles the overdue cases and the others reads two slices). A page whose p95 misses the target
prints its slowest queries (with `--explain`, the EXPLAIN ANALYZE of the slowest). Exit 1 when a
page is missing, answers other than 200 or has a varying query count; with `--strict` also when
one misses the target (the tiny run of `make bench-tiny` checks the pages, not the times).
`--keep` keeps the database; `--reuse` measures a kept one again without rebuilding it.
"""

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import generate  # noqa: E402
from bench.harness import (  # noqa: E402
    BLOCK,
    clone_template,
    code_version,
    dedicated_database,
    pg_settings,
    print_settings,
    recreate_database,
    release_database,
    setup_django,
)

DEFAULT_DATABASE_URL = "postgres://winback:winback@127.0.0.1:5432/winback_bench_cases"
TEMPLATE = "winback_bench_loaded"
TEMPLATE_SIGNATURE = "detect_bench 1000000 20000000 3y seed42 copy"  # what bench/detect_bench.py saved
TARGET_MS = 150.0
WARM_UP = 5
QUERY_SAMPLES = 5


@dataclass
class PageResult:
    page: str
    viewer: str
    times_ms: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)
    statuses: set = field(default_factory=set)
    slowest: list[tuple[float, str]] = field(default_factory=list)
    error: str = ""

    def percentile(self, share: float) -> float:
        ordered = sorted(self.times_ms)
        return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else 0.0

    @property
    def fixed_queries(self) -> bool:
        """The same count whatever the user, case or page; one more is allowed for a queue page
        that straddles the overdue cases and the others (two index-backed slices)."""
        return bool(self.queries) and max(self.queries) - min(self.queries) <= 1

    @property
    def valid(self) -> bool:
        """Served every time, with a fixed number of queries (what the tiny run checks)."""
        return not self.error and self.statuses == {200} and self.fixed_queries

    @property
    def ok(self) -> bool:
        return self.valid and self.percentile(0.95) < TARGET_MS


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--transactions", type=int, default=20_000_000)
    parser.add_argument("--cases", type=int, default=100_000, help="open cases")
    parser.add_argument("--closed", type=int, default=None, help="closed cases (default: a fifth of --cases)")
    parser.add_argument("--managers", type=int, default=50)
    parser.add_argument("--heavy", type=int, default=200, help="cases with long histories")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data", type=Path, default=ROOT / "bench" / "data")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_CASES_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--template-db", default=TEMPLATE, help="the loaded 1M-customer database to clone")
    parser.add_argument("--reuse", action="store_true", help="measure the database as it is (from a --keep run)")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the slowest query of a slow page")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a page misses the time target too")
    return parser.parse_args(argv)


def load_small(customers_path: Path, transactions_path: Path) -> None:
    """Customers and purchases from generated files with plain SQL on Django's connection (the
    small runs and the tiny test; the full size clones the loaded template instead)."""
    from django.db import connection, transaction

    from bench.harness import TRANSACTION_COLUMNS, _load_customers_with_sql

    _load_customers_with_sql(customers_path)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_tx_staging (customer_id text, occurred_at timestamptz, amount numeric(14, 2),"
            " external_id text, kind text) ON COMMIT DROP"
        )
        copy_sql = f"COPY bench_tx_staging ({TRANSACTION_COLUMNS}) FROM STDIN (FORMAT csv, HEADER)"
        with cursor.copy(copy_sql) as copy, transactions_path.open("rb") as f:
            while block := f.read(BLOCK):
                copy.write(block)
        cursor.execute(
            "INSERT INTO customers_transaction (customer_id, external_id, occurred_at, amount, kind)"
            " SELECT c.id, s.external_id, s.occurred_at, s.amount, s.kind"
            " FROM bench_tx_staging s JOIN customers_customer c ON c.external_id = s.customer_id"
        )
        cursor.execute(
            "UPDATE customers_customer c SET order_count = t.orders, first_purchase_at = t.first_at,"
            " last_purchase_at = t.last_at FROM (SELECT customer_id, count(*) AS orders, min(occurred_at) AS first_at,"
            " max(occurred_at) AS last_at FROM customers_transaction WHERE kind = 'purchase' GROUP BY customer_id) t"
            " WHERE c.id = t.customer_id"
        )


def time_page(result: PageResult, clients_and_urls: list, requests: int) -> None:
    """Warms up, counts the queries of a few different requests, then times `requests` of them."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for client, url in clients_and_urls[:WARM_UP]:
        client.get(url)
    for client, url in clients_and_urls[:QUERY_SAMPLES]:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        result.statuses.add(response.status_code)
        result.queries.append(len(captured.captured_queries))
        result.slowest.extend((float(q["time"]) * 1000, q["sql"]) for q in captured.captured_queries)
    result.slowest = sorted(result.slowest, reverse=True)[:3]
    for n in range(requests):
        client, url = clients_and_urls[n % len(clients_and_urls)]
        started = time.perf_counter()
        response = client.get(url)
        result.times_ms.append((time.perf_counter() - started) * 1000)
        result.statuses.add(response.status_code)


def measure(data, *, requests: int) -> list[PageResult]:
    """Times the three pages over the cases `data` (a bench.cases_data.CaseData)."""
    from django.conf import settings
    from django.test import override_settings

    # Static URLs without collectstatic's manifest (production reads it once; a lookup costs the same).
    plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    with override_settings(STORAGES={**settings.STORAGES, "staticfiles": plain}):
        return _measure(data, requests=requests)


def _measure(data, *, requests: int) -> list[PageResult]:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    users = get_user_model().objects.in_bulk([data.administrator, *data.managers])

    def client_for(user_id: int) -> Client:
        client = Client(raise_request_exception=False)
        client.force_login(users[user_id])
        return client

    admin = client_for(data.administrator)
    managers = [client_for(pk) for pk in data.managers]
    from cases.models import Case

    owners = dict(Case.objects.filter(pk__in=data.heavy_cases + data.light_cases).values_list("pk", "owner_id"))
    manager_clients = dict(zip(data.managers, managers, strict=True))

    def plan(name: str):
        try:
            if name == "queue":
                url = reverse("cases:queue")
                return {
                    "administrator (all cases)": [(admin, url + (f"?page={n}" if n > 1 else "")) for n in range(1, 6)],
                    "account managers (own share)": [(client, url) for client in managers],
                }
            if name == "board":
                url = reverse("cases:board")
                return {
                    "administrator (all cases)": [(admin, url)],
                    "account managers (own share)": [(client, url) for client in managers],
                }
            return {
                f"owner, {label} cases": [
                    (manager_clients[owners[pk]], reverse("cases:detail", args=[pk])) for pk in ids if owners.get(pk)
                ]
                for label, ids in (("heavy", data.heavy_cases), ("ordinary", data.light_cases))
            }
        except NoReverseMatch as error:
            return error

    results = []
    for name, label in (("queue", "queue (cases:queue)"), ("board", "board (cases:board)"), ("detail", "case page")):
        viewers = plan(name)
        if isinstance(viewers, Exception):
            results.append(PageResult(label, "-", error=f"no such page yet ({viewers})"))
            continue
        for viewer, clients_and_urls in viewers.items():
            result = PageResult(label, viewer)
            time_page(result, clients_and_urls, requests)
            results.append(result)
    return results


def report(results: list[PageResult], *, requests: int) -> bool:
    print(f"\nserver time in process (Django test Client), {requests} requests per row after {WARM_UP} warm-up\n")
    print("| page | as | p50 ms | p95 ms | max ms | queries | result |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        if r.error:
            print(f"| {r.page} | {r.viewer} | | | | | MISSING: {r.error} |")
            continue
        queries = f"{min(r.queries)}–{max(r.queries)}" if min(r.queries) != max(r.queries) else str(r.queries[0])
        status = "" if r.statuses == {200} else f" (answers {sorted(r.statuses)})"
        print(
            f"| {r.page} | {r.viewer} | {r.percentile(0.5):.1f} | {r.percentile(0.95):.1f} | {max(r.times_ms):.1f}"
            f" | {queries} | {'PASS' if r.ok else 'FAIL'}{status} |"
        )
    for r in results:
        if not r.error and r.percentile(0.95) >= TARGET_MS:
            print(f"\nslowest queries of {r.page}, {r.viewer}:")
            for ms, sql in r.slowest:
                print(f"  {ms:8.1f} ms  {sql[:400]}")
    return all(r.ok for r in results)


def explain_slowest(results: list[PageResult]) -> None:
    from django.db import connection

    for r in results:
        if r.error or r.percentile(0.95) < TARGET_MS or not r.slowest:
            continue
        sql = r.slowest[0][1]
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            print(f"\nEXPLAIN ANALYZE, {r.page}, {r.viewer}:")
            print("\n".join(row[0] for row in cursor.fetchall()))


def prepare(args, database: str) -> tuple[str, float]:
    """The database with customers and purchases: cloned from the template or loaded small."""
    started = time.perf_counter()
    if args.customers == 1_000_000 and args.transactions == 20_000_000:
        if not clone_template(args.database_url, database, args.template_db, TEMPLATE_SIGNATURE):
            raise SystemExit(f"{args.template_db} is missing or holds other data; run bench/detect_bench.py first")
        setup_django(args.database_url)
        return "cloned", time.perf_counter() - started
    recreate_database(args.database_url, database)
    setup_django(args.database_url)
    customers_path, transactions_path = generate.generate(
        args.data / f"pages_{args.customers}_{args.transactions}",
        customers=args.customers,
        transactions=args.transactions,
        years=3,
        seed=args.seed,
    )
    load_small(customers_path, transactions_path)
    return "generated and loaded", time.perf_counter() - started


def vacuum_analyze(url: str) -> None:
    import psycopg

    from bench.cases_data import TABLES

    with psycopg.connect(url, autocommit=True) as conn:
        for table in TABLES:
            conn.execute(f"VACUUM ANALYZE {table}")


def main(argv=None) -> int:
    args = parse_args(argv)
    database = dedicated_database(args.database_url)
    if database == args.template_db:
        raise SystemExit("the benchmark database must not be the template")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    print(f"code: {code_version()}")
    ok = valid = False
    try:
        if args.reuse:
            setup_django(args.database_url, migrate=False)
        else:
            how, seconds = prepare(args, database)
            print(f"database: customers and purchases {how} in {seconds:.1f} s")
            from django.core.management import call_command

            call_command("migrate", interactive=False, verbosity=0)
        from bench.cases_data import add_cases, existing_cases

        closed = args.cases // 5 if args.closed is None else args.closed
        data = existing_cases(args.managers, args.heavy) if args.reuse else None
        if data is None:
            data = add_cases(cases=args.cases, closed=closed, managers=args.managers, heavy=args.heavy)
            print(f"cases: added in {data.seconds:.1f} s: " + ", ".join(f"{k} {v:,}" for k, v in data.counts.items()))
        vacuum_analyze(args.database_url)
        results = measure(data, requests=args.requests)
        ok = report(results, requests=args.requests)
        valid = all(r.valid for r in results)
        if args.explain:
            explain_slowest(results)
        print_settings(pg_settings(args.database_url))
        print(f"\ncode: {code_version()}")
    finally:
        release_database(args.database_url, database, keep=args.keep or args.reuse)
    return 0 if valid and (ok or not args.strict) else 1


if __name__ == "__main__":
    sys.exit(main())
