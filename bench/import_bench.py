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
import io
import os
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (  # noqa: E402
    add_common_arguments,
    checkpoint,
    copy_transactions,
    count_rows,
    dedicated_database,
    ensure_data,
    has_command,
    load_customers,
    pg_settings,
    print_settings,
    recreate_database,
    release_database,
    setup_django,
    warm_page_cache,
)

RATIO_PASS, RATIO_TARGET = 0.50, 0.67
SMALL_RUN_ROWS = 100_000


class ProductImportFailed(Exception):
    pass


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--baseline-only", action="store_true", help="skip the product transactions import")
    parser.add_argument(
        "--sorted-baseline",
        action="store_true",
        help="give the baseline's INSERT ... SELECT an ORDER BY customer, time (as the product does)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    database = dedicated_database(args.database_url)
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
        release_database(args.database_url, database, keep=args.keep)
    return 1 if failed else 0


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
    warm_page_cache(transactions_path)


def product_import(path: Path, expected: int) -> tuple[str, int, float]:
    from django.core.management import call_command

    if not has_command("import_transactions"):
        raise ProductImportFailed("import_transactions is not a registered command (use --baseline-only)")
    checkpoint(os.environ["DATABASE_URL"])
    output = io.StringIO()
    started = time.perf_counter()
    try:
        call_command("import_transactions", str(path), stdout=output, stderr=output)
    except Exception as error:
        print(output.getvalue()[-4000:], file=sys.stderr)
        raise ProductImportFailed(f"{type(error).__name__}: {error}") from error
    seconds = time.perf_counter() - started
    rows = count_rows("customers_transaction")
    if rows != expected:
        print(output.getvalue()[-4000:], file=sys.stderr)
        raise ProductImportFailed(f"customers_transaction holds {rows:,} rows, expected {expected:,}")
    return "import_transactions (product)", rows, seconds


def baseline_import(url: str, path: Path, expected: int, *, ordered: bool = False) -> list[tuple[str, int, float]]:
    """COPY → unlogged staging → one INSERT ... SELECT → COMMIT, timed step by step in one transaction.
    With `ordered` the INSERT sorts by customer and time, so the indexes grow in order."""
    rows, copy_seconds, insert_seconds, commit_seconds = copy_transactions(
        url, path, expected, table="bench_transaction", ordered=ordered
    )
    return [
        ("  baseline: COPY into unlogged staging", rows, copy_seconds),
        ("  baseline: INSERT ... SELECT join" + (" ORDER BY" if ordered else ""), rows, insert_seconds),
        ("  baseline: COMMIT (deferred FK check)", rows, commit_seconds),
        ("baseline total (hand-written SQL)", rows, copy_seconds + insert_seconds + commit_seconds),
    ]


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
    print_settings(settings)


if __name__ == "__main__":
    sys.exit(main())
