"""Detection benchmark: the detection runs against a plain SQL aggregate over the same table, same run.

    python bench/detect_bench.py --customers 1000000 --transactions 20000000 [--data bench/data] [--keep]

Drops and recreates a dedicated database (default winback_bench), migrates it, loads the
customers with `import_customers` and the transactions with COPY (or `--load product`:
`import_transactions`), VACUUM ANALYZEs, then times in one run:
- baseline: last purchase, count and sum per customer over customers_transaction, written to a
  temp table (CREATE TEMP TABLE ... AS), median of three;
- `detect_defections --as-of <two days ago>`: the first replay on the fresh data, which rewrites
  every customer (a one-off, reported);
- `detect_defections --as-of <yesterday>`: the full replay (target <= 3x baseline, goal 2x);
- `detect_defections --full` for today (the run after a replay recomputes everything anyway);
- `detect_defections` for today, the nightly run (target <= 0.5x baseline);
- `import_transactions` of N new purchases of today, then the nightly run again (target < 5 s);
- the peak RSS of each detection process (target < 500 MB).
Each detection run is the real management command in its own process; its time is measured
inside that process around the command (Django start-up excluded), and its peak memory is the
process's max RSS from wait4(). Before the replay of yesterday, the nightly run and the import,
the tables the runs rewrite get a VACUUM ANALYZE, as autovacuum gives them between daily runs
(`--no-settle`: none); the report names what autovacuum worked on during each run. Exit code 0
(a report) unless a run failed or ran in the wrong mode.
"""

import argparse
import contextlib
import datetime as dt
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import generate  # noqa: E402
from bench.harness import (  # noqa: E402
    SETTINGS_SHOWN,
    add_common_arguments,
    checkpoint,
    clone_template,
    code_fingerprint,
    code_version,
    configure_django,
    copy_transactions,
    dedicated_database,
    ensure_data,
    load_customers,
    pg_settings,
    print_settings,
    recreate_database,
    release_database,
    save_template,
    setup_django,
)

BASELINE_SELECT = (
    "SELECT customer_id, max(occurred_at) AS last_at, count(*) AS orders, sum(amount) AS revenue "
    "FROM customers_transaction GROUP BY customer_id"
)
AS_OF_TARGET, AS_OF_GOAL, NIGHTLY_TARGET = 3.0, 2.0, 0.5
AFTER_IMPORT_SECONDS, MEMORY_MB = 5.0, 500.0
SMALL_RUN_ROWS = 1_000_000
EXTRA_SETTINGS = ("jit", "max_parallel_workers", "autovacuum")
VACUUMED = ("customers_customer", "customers_transaction", "customers_interaction")
SETTLED = ("customers_customer", "customers_defectionevent", "customers_statuschange")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument(
        "--load",
        choices=("copy", "product"),
        default="copy",
        help="copy: COPY + one INSERT ... SELECT sorted by customer and time, then the product's purchase "
        "figures refresh (fast); product: import_transactions",
    )
    parser.add_argument("--new-transactions", type=int, default=10_000, help="purchases imported before the last run")
    parser.add_argument("--repeats", type=int, default=3, help="baseline runs (the median counts)")
    parser.add_argument(
        "--template-db",
        help="keep a copy of the loaded database under this name and clone it instead of loading next time",
    )
    parser.add_argument(
        "--skip-first-replay", action="store_true", help="skip the first replay (two days ago) on the fresh data"
    )
    parser.add_argument(
        "--no-settle",
        action="store_true",
        help="no VACUUM ANALYZE of the customers and detection tables between the runs",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a figure misses its target")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["child"]:
        return child(argv[1], argv[2:])
    args = parse_args(argv)
    database = dedicated_database(args.database_url)
    version, fingerprint = code_version(), code_fingerprint()
    print(f"code: {version}, detection code fingerprint {fingerprint}")
    customers_path, transactions_path = ensure_data(args)
    signature = f"detect_bench {args.customers} {args.transactions} {args.years}y seed{args.seed} {args.load}"
    cloned = args.template_db and clone_template(args.database_url, database, args.template_db, signature)
    if not cloned:
        recreate_database(args.database_url, database)
    failures: list[str] = []
    try:
        setup_django(args.database_url)
        loading = [] if cloned else load(args, customers_path, transactions_path)
        if args.template_db and not cloned:
            save_template(args.database_url, database, args.template_db, signature)
        default_rules()
        vacuum_seconds = vacuum_analyze(args.database_url)
        baseline, samples, plan = measure_baseline(args.database_url, args.repeats)
        runs = detection_runs(args, failures)
        if code_fingerprint() != fingerprint:
            failures.append("the detection or import code changed during the run: the figures mix versions")
        report(args, loading, vacuum_seconds, baseline, samples, plan, runs, failures)
        print(f"\ncode: {version}, detection code fingerprint {fingerprint}")
        print_settings(pg_settings(args.database_url, SETTINGS_SHOWN + EXTRA_SETTINGS))
    finally:
        release_database(args.database_url, database, keep=args.keep)
    if failures:
        print("\nFAILED: " + "; ".join(failures), file=sys.stderr)
        return 1
    return 0


def load(args, customers_path: Path, transactions_path: Path) -> list[tuple[str, float]]:
    from bench.import_bench import product_import
    from customers.loaders import refresh_purchase_figures
    from customers.models import Segment

    # The segments exist before the import (as an administrator would set them up), which then
    # only links to them; default_rules() gives them the shipped rules.
    for name in generate.SEGMENTS:
        Segment.objects.get_or_create(name=name)
    step, _, seconds = load_customers(customers_path, args.customers, fallback=False)
    steps = [(step, seconds)]
    if args.load == "product":
        step, _, seconds = product_import(transactions_path, args.transactions)
        return [*steps, (step, seconds)]
    _, copy_seconds, insert_seconds, commit_seconds = copy_transactions(
        args.database_url, transactions_path, args.transactions, table="customers_transaction", ordered=True
    )
    started = time.perf_counter()
    refresh_purchase_figures()  # what import_transactions does after writing the rows
    return [
        *steps,
        ("transactions: COPY into unlogged staging", copy_seconds),
        ("transactions: INSERT ... SELECT ORDER BY customer, time", insert_seconds),
        ("transactions: COMMIT (deferred FK check)", commit_seconds),
        ("purchase figures (customers.loaders.refresh_purchase_figures)", time.perf_counter() - started),
    ]


def default_rules() -> None:
    """The shipped default rules for every segment, also in a database cloned from an older template."""
    from customers.models import Segment

    defaults = {name: Segment._meta.get_field(name).get_default() for name in Segment.RULE_FIELDS}
    Segment.objects.update(**defaults)


def vacuum_analyze(url: str) -> float:
    """Fresh statistics and visibility maps (so index-only scans skip the heap), then a CHECKPOINT."""
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        for table in VACUUMED:
            conn.execute(f"VACUUM ANALYZE {table}")
    checkpoint(url)
    return time.perf_counter() - started


def measure_baseline(url: str, repeats: int) -> tuple[float, list[float], str]:
    """The plain aggregate written to a temp table (no client transfer), `repeats` times."""
    samples = []
    with psycopg.connect(url, autocommit=True) as conn:
        plan = " / ".join(
            line.strip().removeprefix("-> ").split("  (cost")[0]
            for (line,) in conn.execute("EXPLAIN " + BASELINE_SELECT).fetchall()
            if "(cost" in line
        )
        for _ in range(repeats):
            conn.execute("DROP TABLE IF EXISTS bench_aggregate")
            started = time.perf_counter()
            conn.execute(f"CREATE TEMP TABLE bench_aggregate AS {BASELINE_SELECT}")
            samples.append(time.perf_counter() - started)
        conn.execute("DROP TABLE bench_aggregate")
    return statistics.median(samples), samples, plan


def detection_runs(args, failures: list[str]) -> list[dict]:
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    today, url = timezone.localdate(), args.database_url
    runs = []
    settled = []
    if not args.skip_first_replay:
        day = str(today - dt.timedelta(days=2))
        runs.append(run_command(url, "as-of replay, first run (D-2)", "as_of", "--as-of", day, target="as_of"))
        # The first replay rewrites every customer: without this, autovacuum cleans up after it
        # during the next run (the replay of the next day), on one of the two cores.
        settled += [] if args.no_settle else [settle(url)]
    day = str(today - dt.timedelta(days=1))
    runs.append(run_command(url, "as-of replay (D-1)", "as_of", "--as-of", day, target="as_of"))
    runs.append(run_command(url, "full recompute (today)", "full", "--full"))
    settled += [] if args.no_settle else [settle(url)]
    runs.append(run_command(url, "nightly", "nightly", target="nightly"))
    settled += [] if args.no_settle else [settle(url)]
    with tempfile.TemporaryDirectory(prefix="detect-bench-") as folder:
        path = Path(folder) / "new_transactions.csv"
        midnight = dt.datetime.combine(today, dt.time.min, tzinfo=timezone.get_current_timezone())
        write_new_transactions(
            path, customers=args.customers, rows=args.new_transactions, start=midnight, end=timezone.now()
        )
        output = io.StringIO()
        started = time.perf_counter()
        call_command("import_transactions", str(path), stdout=output, stderr=output)
        imported = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM customers_customer WHERE metrics_stale")
        stale = cursor.fetchone()[0]
    print(f"import_transactions of {args.new_transactions:,} purchases: {imported:.2f} s; {stale:,} customers stale")
    label = f"nightly after {args.new_transactions:,} new purchases"
    after = run_command(url, label, "nightly", target="after_import")
    after["imported_seconds"], after["stale"], after["settled"] = imported, stale, settled
    runs.append(after)
    for run in runs:
        if run["status"] != "done" or run["mode"] != run["expected_mode"]:
            failures.append(f"{run['label']}: status {run['status']}, mode {run['mode']} ({run['expected_mode']})")
    return runs


def settle(url: str) -> float:
    """VACUUM ANALYZE of the tables a run rewrites, as autovacuum does in the day between nightly runs."""
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        for table in SETTLED:
            conn.execute(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - started


def run_command(url: str, label: str, expected_mode: str, *command_args: str, target: str = "") -> dict:
    """Runs detect_defections in a child process; its time, its peak RSS and the DetectionRun row."""
    from django.db import connections

    from customers.models import DetectionRun

    connections.close_all()
    checkpoint(url)
    watcher = AutovacuumWatch(url)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        child_process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "child", url, *command_args], stdout=out, stderr=err
        )
        _, status, usage = os.wait4(child_process.pid, 0)
        wall = time.perf_counter() - started
        autovacuum = watcher.stop()
        child_process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        lines, errors = out.read().splitlines(), err.read()
    failed = {"seconds": None, "output": "", "peak_kb": None}
    result = json.loads(lines[-1]) if child_process.returncode == 0 and lines else failed
    # ru_maxrss survives execve (it may be the parent's size at fork); the child's VmHWM does not.
    peak_kb = result["peak_kb"] or usage.ru_maxrss
    run = DetectionRun.objects.order_by("-id").first()
    if child_process.returncode:
        print(f"{label}: the command failed\n{errors[-4000:]}", file=sys.stderr)
    print(f"{label}: {result['seconds'] or 0:.2f} s, peak RSS {peak_kb / 1024:.0f} MB")
    return {
        "label": label,
        "expected_mode": expected_mode,
        "seconds": result["seconds"],
        "wall": wall,
        "engine_seconds": run.seconds if run else None,
        "target": target,
        "rss_mb": peak_kb / 1024,
        "mode": run.mode if run else None,
        "status": run.status if run and child_process.returncode == 0 else "failed",
        "summary": run.summary if run else {},
        "autovacuum": autovacuum,
    }


class AutovacuumWatch:
    """What autovacuum worked on in the database while a run went on (sampled every 0.5 s): it
    shares the two cores with the run."""

    def __init__(self, url: str) -> None:
        self.seen: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, args=(url,), daemon=True)
        self._thread.start()

    def _watch(self, url: str) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            while not self._stop.wait(0.5):
                rows = conn.execute(
                    "SELECT query FROM pg_stat_activity WHERE backend_type = 'autovacuum worker' "
                    "AND datname = current_database()"
                ).fetchall()
                self.seen.update(query.removeprefix("autovacuum: ") for (query,) in rows if query)

    def stop(self) -> list[str]:
        self._stop.set()
        self._thread.join()
        return sorted(self.seen)


def child(url: str, command_args: list[str]) -> int:
    """The detection process: Django set up, then the command timed on its own; one JSON line out."""
    configure_django(url)
    from django.core.management import call_command

    output = io.StringIO()
    started = time.perf_counter()
    call_command("detect_defections", *command_args, stdout=output)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "output": output.getvalue(), "peak_kb": _peak_kb()}))
    return 0


def _peak_kb() -> int | None:
    """This process's peak resident set (VmHWM, kB) since its exec."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def write_new_transactions(path: Path, *, customers: int, rows: int, start: dt.datetime, end: dt.datetime) -> None:
    """Purchases of random existing customers between start and end, with ids no generated file uses."""
    rng = np.random.default_rng(20_000)
    who = rng.integers(1, customers + 1, size=rows)
    start_utc = start.astimezone(dt.UTC).replace(microsecond=0)
    offsets = np.sort(rng.integers(0, max(int((end - start_utc).total_seconds()) - 60, 1), size=rows))
    cents = rng.integers(500, 50_000, size=rows)
    width = generate.customer_id_width(customers)
    lines = ["customer_id,occurred_at,amount,external_id,kind\n"]
    for number, (customer, offset, amount) in enumerate(zip(who, offsets, cents, strict=True), start=1):
        moment = (start_utc + dt.timedelta(seconds=int(offset))).isoformat()
        lines.append(f"C{customer:0{width}d},{moment},{amount // 100}.{amount % 100:02d},N{number:09d},purchase\n")
    path.write_text("".join(lines), encoding="utf-8")


def verdict(value: float | None, limit: float, goal: float | None = None) -> str:
    if value is None:
        return "n/a"
    if goal is not None and value <= goal:
        return "PASS (goal met)"
    return "PASS" if value <= limit else "FAIL"


def report(args, loading, vacuum_seconds, baseline, samples, plan, runs, failures: list[str]) -> None:
    if loading:
        print("\nloading (not timed against anything):")
        for step, seconds in loading:
            print(f"  {step:<64} {seconds:>9.1f} s")
    print(f"  {'VACUUM ANALYZE (customers, transactions, interactions), CHECKPOINT':<64} {vacuum_seconds:>9.1f} s")
    print(f"\nbaseline plan: {plan}")
    nightly = next(run for run in runs if run["target"] == "nightly")
    after = runs[-1]
    rows = [("baseline: aggregate into a temp table (median)", baseline, baseline, 1.0, "", "")]
    for run in runs:
        seconds = run["seconds"]
        ratio = seconds / baseline if seconds is not None and baseline else None
        target, result = "", ""
        if run["target"] == "as_of":
            target = f"<= {AS_OF_TARGET:.0f}x (goal {AS_OF_GOAL:.0f}x)"
            result = verdict(ratio, AS_OF_TARGET, AS_OF_GOAL)
        elif run["target"] == "nightly":
            target, result = f"<= {NIGHTLY_TARGET}x", verdict(ratio, NIGHTLY_TARGET)
        elif run["target"] == "after_import":
            target, result = f"< {AFTER_IMPORT_SECONDS:.0f} s", verdict(seconds, AFTER_IMPORT_SECONDS - 1e-9)
        rows.append((run["label"], seconds, run["wall"], ratio, target, result))
    peak = max(run["rss_mb"] for run in runs)
    width = max(len(row[0]) for row in rows)
    print(f"\n{'figure':<{width}}  {'seconds':>8}  {'process':>8}  {'x base':>7}  {'target':<18}  result")
    for label, seconds, wall, ratio, target, result in rows:
        shown = f"{seconds:>8.2f}" if seconds is not None else f"{'failed':>8}"
        ratio_shown = f"{ratio:>7.2f}" if ratio is not None else f"{'':>7}"
        print(f"{label:<{width}}  {shown}  {wall:>8.2f}  {ratio_shown}  {target:<18}  {result}")
    mem_result = verdict(peak, MEMORY_MB - 1e-9)
    memory_label = "peak RSS of a detection process (MB)"
    print(f"{memory_label:<{width}}  {peak:>8.0f}  {'':>8}  {'':>7}  {'< 500 MB':<18}  {mem_result}")
    print(f"\nbaseline runs: {', '.join(f'{s:.2f}' for s in samples)} s (median {baseline:.2f} s)")
    print("seconds: the command inside its process; process: the whole process incl. Python and Django start-up")
    print(f"import_transactions of the new purchases: {after['imported_seconds']:.2f} s, {after['stale']:,} stale")
    if after["settled"]:
        shown = " and ".join(f"{seconds:.1f} s" for seconds in after["settled"])
        when = "after the first replay, " if len(after["settled"]) > 2 else ""
        print(f"{when}before the nightly run and before the import: VACUUM ANALYZE {', '.join(SETTLED)} ({shown})")
    else:
        print("--no-settle: no VACUUM ANALYZE between the runs (statistics as the previous runs left them)")
    from customers.detection.engine import SUMMARY_KEYS  # Django is set up by main()

    print("\nper run (engine seconds as recorded in DetectionRun, peak RSS, summary):")
    for run in runs:
        summary = ", ".join(f"{key} {run['summary'].get(key, 0):,}" for key in SUMMARY_KEYS)
        print(f"  {run['label']} [{run['mode']}]: {run['engine_seconds']} s, {run['rss_mb']:.0f} MB; {summary}")
        steps = ", ".join(f"{name} {seconds}" for name, seconds in run["summary"].get("steps", {}).items())
        print(f"    steps (s): {steps}; autovacuum during the run: {', '.join(run['autovacuum']) or 'none'}")
    if nightly["summary"].get("figures_updated", 0):
        print("  note: the nightly run without new purchases recomputed figures")
    if after["stale"] == 0 and args.new_transactions:
        print("  note: the import marked no customer stale, so the last nightly run recomputed no figures")
    if args.transactions < SMALL_RUN_ROWS:
        print(f"(below {SMALL_RUN_ROWS:,} transactions fixed costs dominate: this run checks that the benchmark works)")
    if args.strict:
        missed = [row[0] for row in rows if row[5] == "FAIL"] + (["peak RSS"] if mem_result == "FAIL" else [])
        failures.extend(f"{label}: missed its target" for label in missed)


if __name__ == "__main__":
    sys.exit(main())
