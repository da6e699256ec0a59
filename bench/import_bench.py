"""Transactions import benchmark: the product importer against hand-written SQL, same file, same run.

    python bench/import_bench.py --customers 1000000 --transactions 20000000 [--data bench/data] [--keep]

Drops and recreates a dedicated database (default winback_bench), migrates it, loads the customers
with `import_customers`, then times `import_transactions` (the product) and a baseline: COPY into
an unlogged staging table, one INSERT ... SELECT joining customer ids, COMMIT (deferred FK check
included) into `bench_transaction`, a table of the same shape as `customers_transaction`.
It prints the figures, the ratio product/baseline and the PostgreSQL settings in effect. Exit code
0 unless the product import failed. See bench/README.md for the settings to benchmark with.
"""

import argparse
import contextlib
import io
import os
import sys
import time
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from bench import generate  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://winback:winback@127.0.0.1:5432/winback_bench"
BLOCK = 1 << 20
RATIO_PASS, RATIO_TARGET = 0.50, 0.67
SMALL_RUN_ROWS = 100_000
SETTINGS_SHOWN = (
    "shared_buffers",
    "effective_cache_size",
    "work_mem",
    "maintenance_work_mem",
    "max_wal_size",
    "synchronous_commit",
    "random_page_cost",
    "max_parallel_workers_per_gather",
)
TRANSACTION_COLUMNS = "customer_id, occurred_at, amount, external_id, kind"  # the file's column order


class ProductImportFailed(Exception):
    pass


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--transactions", type=int, default=20_000_000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data", type=Path, default=PROJECT_ROOT / "bench" / "data")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument("--baseline-only", action="store_true", help="skip the product transactions import")
    parser.add_argument(
        "--sorted-baseline",
        action="store_true",
        help="give the baseline's INSERT ... SELECT an ORDER BY customer, time (as the product does)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    database = conninfo_to_dict(args.database_url).get("dbname")
    if not database or database in ("postgres", "template0", "template1"):
        sys.exit(f"refusing to drop and recreate database {database!r}: name a dedicated benchmark database")
    customers_path, transactions_path = ensure_data(args)
    recreate_database(args.database_url, database)
    results: list[tuple[str, int, float]] = []
    failed = False
    try:
        setup_django(args.database_url)
        from django.db import connections

        results.append(load_customers(customers_path, args.customers, fallback=args.baseline_only))
        prepare(args.database_url, transactions_path)
        if not args.baseline_only:
            try:
                results.append(product_import(transactions_path, args.transactions))
            except ProductImportFailed as error:
                failed = True
                print(f"\nPRODUCT IMPORT FAILED: {error}", file=sys.stderr)
        connections.close_all()
        results.extend(
            baseline_import(args.database_url, transactions_path, args.transactions, ordered=args.sorted_baseline)
        )
        report(results, pg_settings(args.database_url), baseline_only=args.baseline_only)
    finally:
        if args.keep:
            print(f"\nkept database {database}")
        else:
            with contextlib.suppress(Exception):  # Django may not be set up if something failed early
                from django.db import connections

                connections.close_all()
            drop_database(args.database_url, database)
    return 1 if failed else 0


def ensure_data(args) -> tuple[Path, Path]:
    customers_name, transactions_name = generate.sized_file_names(
        args.customers, args.transactions, args.years, args.seed
    )
    customers_path, transactions_path = args.data / customers_name, args.data / transactions_name
    if customers_path.exists() and transactions_path.exists():
        print(f"data: reusing {customers_path} and {transactions_path}")
        return customers_path, transactions_path
    started = time.perf_counter()
    generate.generate(
        args.data,
        customers=args.customers,
        transactions=args.transactions,
        years=args.years,
        seed=args.seed,
        customers_name=customers_name,
        transactions_name=transactions_name,
    )
    print(f"data: generated {customers_path} and {transactions_path} in {time.perf_counter() - started:.1f} s")
    return customers_path, transactions_path


def _maintenance_conninfo(url: str) -> str:
    return make_conninfo(url, dbname="postgres")


def recreate_database(url: str, database: str) -> None:
    with psycopg.connect(_maintenance_conninfo(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
    print(f"database: recreated {database}")


def drop_database(url: str, database: str) -> None:
    with psycopg.connect(_maintenance_conninfo(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    print(f"\ndropped database {database}")


def setup_django(url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "winback.settings.local"
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_DEBUG"] = "false"  # DEBUG would keep every executed query in memory
    import django
    from django.core.management import call_command

    django.setup()
    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    print(f"database: migrated in {time.perf_counter() - started:.1f} s")


def _has_command(name: str) -> bool:
    from django.core.management import get_commands

    return name in get_commands()


def load_customers(path: Path, expected: int, *, fallback: bool) -> tuple[str, int, float]:
    """Load customers with the product's command (or plain SQL for --baseline-only while it doesn't exist)."""
    from django.core.management import call_command

    if _has_command("import_customers"):
        output = io.StringIO()
        started = time.perf_counter()
        call_command("import_customers", str(path), stdout=output, stderr=output)
        seconds = time.perf_counter() - started
        step = "import_customers (product)"
    elif fallback:
        started = time.perf_counter()
        _load_customers_with_sql(path)
        seconds = time.perf_counter() - started
        step = "customers via SQL (no import_customers yet)"
    else:
        raise SystemExit("import_customers is not a registered command; run with --baseline-only")
    rows = _count("customers_customer")
    if rows != expected:
        raise SystemExit(f"customers_customer holds {rows:,} rows after loading, expected {expected:,}")
    return step, rows, seconds


def _load_customers_with_sql(path: Path) -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_customer_staging (customer_id text, name text, email text, segment text)"
            " ON COMMIT DROP"
        )
        with cursor.copy("COPY bench_customer_staging FROM STDIN (FORMAT csv, HEADER)") as copy, path.open("rb") as f:
            while block := f.read(BLOCK):
                copy.write(block)
        cursor.execute(
            "INSERT INTO customers_segment (name, at_risk_days, defected_days, case_min_annual_value)"
            " SELECT DISTINCT segment, 60, 90, 0 FROM bench_customer_staging ON CONFLICT (name) DO NOTHING"
        )
        cursor.execute(
            """
            INSERT INTO customers_customer (
                external_id, name, email, phone, company, segment_id, language, status, status_changed_at,
                do_not_contact, preferred_channel, contact_notes, order_count, lifetime_revenue, created_at, updated_at
            )
            SELECT s.customer_id, s.name, s.email, '', '', g.id, 'en', 'active', now(),
                   false, '', '', 0, 0, now(), now()
            FROM bench_customer_staging s LEFT JOIN customers_segment g ON g.name = s.segment
            """
        )


def _count(table: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        return cursor.fetchone()[0]


def prepare(url: str, transactions_path: Path) -> None:
    """Same starting point for both imports: fresh statistics, the baseline's table, the file in the page cache.

    bench_transaction copies customers_transaction's columns, identity, indexes and unique
    constraint (LIKE ... INCLUDING ALL) and gets the same deferred foreign key to the customers.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE customers_customer")
        conn.execute("CREATE TABLE bench_transaction (LIKE customers_transaction INCLUDING ALL)")
        conn.execute(
            "ALTER TABLE bench_transaction ADD CONSTRAINT bench_transaction_customer_fk FOREIGN KEY (customer_id)"
            " REFERENCES customers_customer (id) DEFERRABLE INITIALLY DEFERRED"
        )
    _warm_page_cache(transactions_path)


def _checkpoint(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def _warm_page_cache(path: Path) -> None:
    with path.open("rb") as f:
        while f.read(BLOCK * 8):
            pass


def product_import(path: Path, expected: int) -> tuple[str, int, float]:
    from django.core.management import call_command

    if not _has_command("import_transactions"):
        raise ProductImportFailed("import_transactions is not a registered command (use --baseline-only)")
    _checkpoint(os.environ["DATABASE_URL"])
    output = io.StringIO()
    started = time.perf_counter()
    try:
        call_command("import_transactions", str(path), stdout=output, stderr=output)
    except Exception as error:
        print(output.getvalue()[-4000:], file=sys.stderr)
        raise ProductImportFailed(f"{type(error).__name__}: {error}") from error
    seconds = time.perf_counter() - started
    rows = _count("customers_transaction")
    if rows != expected:
        print(output.getvalue()[-4000:], file=sys.stderr)
        raise ProductImportFailed(f"customers_transaction holds {rows:,} rows, expected {expected:,}")
    return "import_transactions (product)", rows, seconds


def baseline_import(url: str, path: Path, expected: int, *, ordered: bool = False) -> list[tuple[str, int, float]]:
    """COPY → unlogged staging → one INSERT ... SELECT → COMMIT, timed step by step in one transaction.
    With `ordered` the INSERT sorts by customer and time, so the indexes grow in order."""
    _checkpoint(url)
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(
            "CREATE UNLOGGED TABLE bench_staging"
            " (customer_id text, occurred_at timestamptz, amount numeric(14, 2), external_id text, kind text)"
        )
        copy_sql = f"COPY bench_staging ({TRANSACTION_COLUMNS}) FROM STDIN (FORMAT csv, HEADER)"
        with cursor.copy(copy_sql) as copy, path.open("rb") as f:
            while block := f.read(BLOCK):
                copy.write(block)
        copied_at = time.perf_counter()
        cursor.execute(
            """
            INSERT INTO bench_transaction (customer_id, external_id, occurred_at, amount, kind)
            SELECT c.id, s.external_id, s.occurred_at, s.amount, s.kind
            FROM bench_staging s JOIN customers_customer c ON c.external_id = s.customer_id
            """
            + (" ORDER BY c.id, s.occurred_at" if ordered else "")
        )
        inserted = cursor.rowcount
        inserted_at = time.perf_counter()
        conn.commit()
        committed_at = time.perf_counter()
        rows = cursor.execute("SELECT count(*) FROM bench_transaction").fetchone()[0]
        cursor.execute("DROP TABLE bench_staging")
        conn.commit()
    if inserted != expected or rows != expected:
        raise SystemExit(f"baseline inserted {inserted:,} rows ({rows:,} in the table), expected {expected:,}")
    return [
        ("  baseline: COPY into unlogged staging", rows, copied_at - started),
        ("  baseline: INSERT ... SELECT join" + (" ORDER BY" if ordered else ""), rows, inserted_at - copied_at),
        ("  baseline: COMMIT (deferred FK check)", rows, committed_at - inserted_at),
        ("baseline total (hand-written SQL)", rows, committed_at - started),
    ]


def pg_settings(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        shown = [(name, conn.execute(f"SHOW {name}").fetchone()[0]) for name in SETTINGS_SHOWN]
    return [("server_version", version), *shown]


def report(results: list[tuple[str, int, float]], settings: list[tuple[str, str]], *, baseline_only: bool) -> None:
    width = max(len(step) for step, _, _ in results)
    print(f"\n{'step':<{width}}  {'rows':>12}  {'seconds':>9}  {'rows/s':>12}")
    for step, rows, seconds in results:
        print(f"{step:<{width}}  {rows:>12,}  {seconds:>9.2f}  {rows / seconds if seconds else 0:>12,.0f}")
    by_step = {step: rows / seconds for step, rows, seconds in results if seconds}
    product = by_step.get("import_transactions (product)")
    baseline = by_step["baseline total (hand-written SQL)"]
    if product is None:
        reason = "--baseline-only" if baseline_only else "the product import failed"
        print(f"\nratio product/baseline rows/s: n/a ({reason})")
    else:
        ratio = product / baseline
        verdict = (
            "meets the target" if ratio >= RATIO_TARGET else "passes" if ratio >= RATIO_PASS else "BELOW the pass mark"
        )
        print(
            f"\nratio product/baseline rows/s: {ratio:.2f} — {verdict} "
            f"(pass >= {RATIO_PASS:.2f}, target >= {RATIO_TARGET:.2f})"
        )
    if results[-1][1] < SMALL_RUN_ROWS:  # the baseline total: the transactions file's rows
        print(f"(below {SMALL_RUN_ROWS:,} rows fixed costs dominate: this run checks that the benchmark works)")
    print("\nPostgreSQL settings in effect:")
    for name, value in settings:
        print(f"  {name:<32} {value}")


if __name__ == "__main__":
    sys.exit(main())
