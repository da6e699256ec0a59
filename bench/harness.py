"""What the benchmarks share: the data files, a dedicated database, Django pointed at it, loading
customers and transactions, CHECKPOINT and page-cache warming, and the PostgreSQL settings report.

Used by bench/import_bench.py and bench/detect_bench.py; see bench/README.md.
"""

import argparse
import contextlib
import hashlib
import io
import os
import subprocess
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
WATCHED = ("customers/detection", "customers/loaders.py", "customers/services/imports.py", "customers/models")


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--transactions", type=int, default=20_000_000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data", type=Path, default=PROJECT_ROOT / "bench" / "data")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")


def dedicated_database(url: str) -> str:
    """The database name of the URL; exits for the ones a benchmark must never drop."""
    database = conninfo_to_dict(url).get("dbname")
    if not database or database in ("postgres", "template0", "template1"):
        sys.exit(f"refusing to drop and recreate database {database!r}: name a dedicated benchmark database")
    return database


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


def maintenance_conninfo(url: str) -> str:
    return make_conninfo(url, dbname="postgres")


def recreate_database(url: str, database: str) -> None:
    with psycopg.connect(maintenance_conninfo(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
    print(f"database: recreated {database}")


def drop_database(url: str, database: str) -> None:
    with psycopg.connect(maintenance_conninfo(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    print(f"\ndropped database {database}")


def release_database(url: str, database: str, *, keep: bool) -> None:
    """The end of a benchmark: keep the database (--keep) or close Django's connections and drop it."""
    if keep:
        print(f"\nkept database {database}")
        return
    with contextlib.suppress(Exception):  # Django may not be set up if something failed early
        from django.db import connections

        connections.close_all()
    drop_database(url, database)


def configure_django(url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "winback.settings.local"
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_DEBUG"] = "false"  # DEBUG would keep every executed query in memory
    import django

    django.setup()


def setup_django(url: str, *, migrate: bool = True) -> None:
    configure_django(url)
    if not migrate:
        return
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    print(f"database: migrated in {time.perf_counter() - started:.1f} s")


def has_command(name: str) -> bool:
    from django.core.management import get_commands

    return name in get_commands()


def load_customers(path: Path, expected: int, *, fallback: bool) -> tuple[str, int, float]:
    """Load customers with the product's command (or plain SQL for --baseline-only while it doesn't exist)."""
    from django.core.management import call_command

    if has_command("import_customers"):
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
    rows = count_rows("customers_customer")
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


def count_rows(table: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        return cursor.fetchone()[0]


def checkpoint(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def warm_page_cache(path: Path) -> None:
    with path.open("rb") as f:
        while f.read(BLOCK * 8):
            pass


def copy_transactions(
    url: str, path: Path, expected: int, *, table: str, ordered: bool = False
) -> tuple[int, float, float, float]:
    """COPY → unlogged staging → one INSERT ... SELECT into `table` → COMMIT, in one transaction.
    With `ordered` the INSERT sorts by customer and time, so the indexes grow in order (as the
    product import does). Returns the rows and the seconds of the three steps."""
    checkpoint(url)
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
        if table == "customers_transaction":
            # As import_transactions writes them: each purchase with its gap to the previous one
            # (customers.detection.gaps; the table is empty here, so the file holds every purchase).
            from customers.detection.gaps import gap_expression  # Django is set up by then

            previous = "lag(s.occurred_at) OVER (PARTITION BY c.id, s.kind ORDER BY s.occurred_at)"
            gap = f"CASE WHEN s.kind = 'purchase' THEN {gap_expression('s.occurred_at', previous)} END"
            order = " ORDER BY c.id, s.kind, s.occurred_at"
            columns = "customer_id, external_id, occurred_at, amount, kind, gap_days"
        else:
            gap, order = "", " ORDER BY c.id, s.occurred_at"
            columns = "customer_id, external_id, occurred_at, amount, kind"
        cursor.execute(
            f"""
            INSERT INTO {table} ({columns})
            SELECT c.id, s.external_id, s.occurred_at, s.amount, s.kind{", " + gap if gap else ""}
            FROM bench_staging s JOIN customers_customer c ON c.external_id = s.customer_id
            """
            + (order if ordered or gap else "")
        )
        inserted = cursor.rowcount
        inserted_at = time.perf_counter()
        conn.commit()
        committed_at = time.perf_counter()
        rows = cursor.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        cursor.execute("DROP TABLE bench_staging")
        conn.commit()
    if inserted != expected or rows != expected:
        raise SystemExit(f"{table}: inserted {inserted:,} rows ({rows:,} in the table), expected {expected:,}")
    return rows, copied_at - started, inserted_at - copied_at, committed_at - inserted_at


def pg_settings(url: str, names: tuple[str, ...] = SETTINGS_SHOWN) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        shown = [(name, conn.execute(f"SHOW {name}").fetchone()[0]) for name in names]
    return [("server_version", version), *shown]


def print_settings(settings: list[tuple[str, str]]) -> None:
    print("\nPostgreSQL settings in effect:")
    for name, value in settings:
        print(f"  {name:<32} {value}")


def code_fingerprint() -> str:
    """A hash of the code under test, to notice edits made while the benchmark runs."""
    digest = hashlib.sha256()
    for name in WATCHED:
        path = PROJECT_ROOT / name
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(str(file.relative_to(PROJECT_ROOT)).encode() + file.read_bytes())
    return digest.hexdigest()[:12]


def code_version() -> str:
    """The commit, and the watched files with uncommitted changes (read-only git commands)."""
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        git = ["git", "-C", str(PROJECT_ROOT)]
        commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
        status = subprocess.run(
            [*git, "status", "--porcelain", "--", *WATCHED], capture_output=True, text=True, check=True
        )
        changed = [line[3:] for line in status.stdout.splitlines()]
        return commit.stdout.strip() + (f" + uncommitted: {', '.join(changed)}" if changed else "")
    return "unknown"


def clone_template(url: str, database: str, template: str, signature: str) -> bool:
    """Recreates the benchmark database from the template when it holds the same data; False if not."""
    with psycopg.connect(maintenance_conninfo(url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [template]
        ).fetchone()
        if not row or row[0] != signature:
            return False
        started = time.perf_counter()
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}" TEMPLATE "{template}"')
    print(f"database: cloned {database} from {template} ({signature}) in {time.perf_counter() - started:.1f} s")
    return True


def save_template(url: str, database: str, template: str, signature: str) -> None:
    from django.db import connections

    connections.close_all()  # CREATE DATABASE ... TEMPLATE needs the source without connections
    with psycopg.connect(maintenance_conninfo(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{template}" TEMPLATE "{database}"')
        conn.execute(f"COMMENT ON DATABASE \"{template}\" IS '{signature}'")
    print(f"database: saved the loaded data as {template}")
