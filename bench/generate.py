"""Synthetic customers and purchases at scale, for the import and nightly-job benchmarks.

    python bench/generate.py --customers 1000000 --transactions 20000000 --years 3 --out bench/data

writes `customers.csv` (customer_id,name,email,segment) and `transactions.csv`
(customer_id,occurred_at,amount,external_id,kind). Transactions come in time order over the last
N years, spread over customers with a skewed (log-normal) appetite, so a few customers buy a lot
and many buy little; some customers join late and some stop buying (churn). About 2% are refunds,
with a positive amount and kind `refund`.

The transactions file is streamed: each chunk of rows is generated with numpy and rendered into a
byte matrix (fixed-width fields, padding bytes removed afterwards), so 20M rows never sit in
memory and no Python loop runs per transaction. Same seed, sizes and end date, same files.
"""

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

import numpy as np

CHUNK_ROWS = 500_000
SEGMENTS = ("Enterprise", "SMB", "Consumer")  # the segments of the demo company
SEGMENT_SHARES = (0.12, 0.33, 0.55)
SEGMENT_ORDER_VALUE = (2400.0, 420.0, 65.0)  # mean order value per segment
REFUND_SHARE = 0.02
LATE_JOINER_SHARE = 0.30
CHURNER_SHARE = 0.25
MAX_AMOUNT_CENTS = 99_999_999  # 999,999.99: the integer part fits six digits
FIRST_NAMES = (
    "Anna", "James", "Olivia", "Tomasz", "Sophie", "Daniel", "Emma", "Jürgen", "Chloé", "Noah",
    "Maria", "Ivan", "Elena", "Liam", "Grace", "Petar", "Zofia", "Henry", "Amelia", "Jack",
)  # fmt: skip
LAST_NAMES = (
    "Keller", "Nowak", "Hughes", "Brandt", "Smith", "Müller", "Petrov", "Kowalski", "Dubois", "Ivanova",
    "Jones", "Taylor", "Georgiev", "Wójcik", "Schmidt", "Brown", "Wilson", "Novak", "Evans", "Walker",
)  # fmt: skip


def customer_id_width(customers: int) -> int:
    return max(7, len(str(customers)))


def transaction_id_width(transactions: int) -> int:
    return max(9, len(str(transactions)))


def sized_file_names(customers: int, transactions: int, years: int, seed: int) -> tuple[str, str]:
    """File names that carry the sizes and seed, so files of different runs never mix in one folder."""
    return f"customers_{customers}_seed{seed}.csv", f"transactions_{customers}_{transactions}_{years}y_seed{seed}.csv"


def default_end() -> dt.datetime:
    """The start of today in UTC: the generated history ends just before it, never in the future."""
    today = dt.datetime.now(dt.UTC).date()
    return dt.datetime(today.year, today.month, today.day, tzinfo=dt.UTC)


def customer_profiles(customers: int, seed: int, start: int, end: int) -> dict[str, np.ndarray]:
    """Per customer: segment index, buying weight and the active window [joined, churned) in epoch seconds."""
    rng = np.random.default_rng([seed, 0])
    segment = rng.choice(len(SEGMENTS), size=customers, p=SEGMENT_SHARES).astype(np.int8)
    weight = rng.lognormal(mean=0.0, sigma=1.3, size=customers)
    span = end - start
    joined = np.where(
        rng.random(customers) < LATE_JOINER_SHARE, start + (rng.random(customers) * span).astype(np.int64), start
    )
    churns = rng.random(customers) < CHURNER_SHARE
    churned = np.where(churns, joined + (rng.random(customers) * (end - joined)).astype(np.int64), end + 1)
    return {"segment": segment, "weight": weight, "joined": joined, "churned": churned}


def write_customers(path: Path, customers: int, *, seed: int, start: int, end: int) -> int:
    """Write the customers file; returns the number of rows."""
    profiles = customer_profiles(customers, seed, start, end)
    rng = np.random.default_rng([seed, 1])
    first = rng.integers(len(FIRST_NAMES), size=customers)
    last = rng.integers(len(LAST_NAMES), size=customers)
    width = customer_id_width(customers)
    segment = profiles["segment"]
    first_ascii, last_ascii = [_ascii(name) for name in FIRST_NAMES], [_ascii(name) for name in LAST_NAMES]
    with _atomic_open(path, "w") as out:
        out.write("customer_id,name,email,segment\n")
        for chunk_start in range(0, customers, 100_000):
            lines = []
            for i in range(chunk_start, min(chunk_start + 100_000, customers)):
                number = f"{i + 1:0{width}d}"
                name = f"{FIRST_NAMES[first[i]]} {LAST_NAMES[last[i]]}"
                email = f"{first_ascii[first[i]]}.{last_ascii[last[i]]}.{number}@example.com"
                lines.append(f"C{number},{name},{email},{SEGMENTS[segment[i]]}\n")
            out.write("".join(lines))
    return customers


def write_transactions(
    path: Path, customers: int, transactions: int, *, seed: int, start: int, end: int, chunk_rows: int = CHUNK_ROWS
) -> int:
    """Write the transactions file in time order, chunk by chunk; returns the number of rows."""
    profiles = customer_profiles(customers, seed, start, end)
    cumulative_weight = np.cumsum(profiles["weight"])
    rng = np.random.default_rng([seed, 2])
    customer_width = customer_id_width(customers)
    transaction_width = transaction_id_width(transactions)
    span = end - start
    with _atomic_open(path, "wb") as out:
        out.write(b"customer_id,occurred_at,amount,external_id,kind\n")
        for first_row in range(0, transactions, chunk_rows):
            last_row = min(first_row + chunk_rows, transactions)
            rows = last_row - first_row
            # This chunk covers its share of the period, so times rise through the file.
            window_start = start + span * first_row // transactions
            window_end = start + span * last_row // transactions
            occurred = np.sort(rng.integers(window_start, max(window_end, window_start + 1), size=rows))
            who = _pick_active_customers(rng, cumulative_weight, profiles, occurred)
            order_value = np.asarray(SEGMENT_ORDER_VALUE)[profiles["segment"][who]]
            sigma = 0.6
            amount = rng.lognormal(mean=np.log(order_value) - sigma**2 / 2, sigma=sigma)
            cents = np.clip(np.rint(amount * 100).astype(np.int64), 100, MAX_AMOUNT_CENTS)
            refund = rng.random(rows) < REFUND_SHARE
            external = np.arange(first_row + 1, last_row + 1, dtype=np.int64)
            out.write(
                _render_transactions(who + 1, occurred, cents, external, refund, customer_width, transaction_width)
            )
    return transactions


def generate(
    out_dir: Path,
    *,
    customers: int,
    transactions: int,
    years: int,
    seed: int = 42,
    end: dt.datetime | None = None,
    customers_name: str = "customers.csv",
    transactions_name: str = "transactions.csv",
) -> tuple[Path, Path]:
    """Write both files into out_dir; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    end_seconds = int((end or default_end()).timestamp())
    start_seconds = end_seconds - years * 365 * 86_400
    customers_path, transactions_path = out_dir / customers_name, out_dir / transactions_name
    write_customers(customers_path, customers, seed=seed, start=start_seconds, end=end_seconds)
    write_transactions(transactions_path, customers, transactions, seed=seed, start=start_seconds, end=end_seconds)
    return customers_path, transactions_path


def _pick_active_customers(rng, cumulative_weight, profiles, occurred: np.ndarray) -> np.ndarray:
    """Customer index per transaction, drawn by weight among the customers active at that time."""
    total = cumulative_weight[-1]
    who = np.empty(len(occurred), dtype=np.int64)
    pending = np.arange(len(occurred))
    for _ in range(200):
        draw = np.searchsorted(cumulative_weight, rng.random(len(pending)) * total, side="right")
        draw = np.minimum(draw, len(cumulative_weight) - 1)
        times = occurred[pending]
        ok = (profiles["joined"][draw] <= times) & (times < profiles["churned"][draw])
        who[pending[ok]] = draw[ok]
        pending = pending[~ok]
        if not len(pending):
            return who
    # Practically unreachable (most of the weight is active at any time): give the rest to anyone.
    who[pending] = np.searchsorted(cumulative_weight, rng.random(len(pending)) * total, side="right")
    return np.minimum(who, len(cumulative_weight) - 1)


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits of non-negative integers as an (n, width) matrix of ASCII bytes."""
    out = np.empty((len(values), width), dtype=np.uint8)
    rest = values.astype(np.int64, copy=True)
    for column in range(width - 1, -1, -1):
        out[:, column] = rest % 10 + ord("0")
        rest //= 10
    return out


def _constant(text: bytes, rows: int) -> np.ndarray:
    return np.broadcast_to(np.frombuffer(text, dtype=np.uint8), (rows, len(text)))


def _render_transactions(customer_number, occurred, cents, external, refund, customer_width, transaction_width):
    """CSV lines as bytes. Variable-width parts are padded with NUL bytes, which are then dropped."""
    rows = len(occurred)
    stamps = np.datetime_as_string(occurred.astype("datetime64[s]"), unit="s").astype("S19")
    whole = cents // 100
    whole_digits = _digits(whole, 6)
    # Blank the leading zeros of the integer part (keeping at least one digit).
    for column in range(5):
        whole_digits[whole < 10 ** (5 - column), column] = 0
    kind = np.where(refund[:, None], _constant(b"refund\0\0", rows), _constant(b"purchase", rows))
    matrix = np.concatenate(
        [
            _constant(b"C", rows),
            _digits(customer_number, customer_width),
            _constant(b",", rows),
            stamps.view(np.uint8).reshape(rows, 19),
            _constant(b"+00:00,", rows),
            whole_digits,
            _constant(b".", rows),
            _digits(cents % 100, 2),
            _constant(b",T", rows),
            _digits(external, transaction_width),
            _constant(b",", rows),
            kind,
            _constant(b"\n", rows),
        ],
        axis=1,
    ).ravel()
    return matrix[matrix != 0].tobytes()


def _ascii(text: str) -> str:
    return text.translate(str.maketrans("üéóÜÉÓ", "ueoUEO")).lower()


class _atomic_open:
    """Write to a side file and rename on success, so an interrupted run leaves no half file behind."""

    def __init__(self, path: Path, mode: str):
        self.path, self.part = Path(path), Path(f"{path}.part")
        self.file = open(self.part, mode, encoding="utf-8" if "b" not in mode else None)  # noqa: SIM115

    def __enter__(self):
        return self.file

    def __exit__(self, exc_type, exc, tb):
        self.file.close()
        if exc_type is None:
            os.replace(self.part, self.path)
        else:
            self.part.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--transactions", type=int, default=20_000_000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "data")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--end", type=dt.date.fromisoformat, help="last day (exclusive, UTC); default today")
    args = parser.parse_args(argv)
    end = dt.datetime(args.end.year, args.end.month, args.end.day, tzinfo=dt.UTC) if args.end else None
    started = time.perf_counter()
    paths = generate(
        args.out, customers=args.customers, transactions=args.transactions, years=args.years, seed=args.seed, end=end
    )
    seconds = time.perf_counter() - started
    for path, rows in zip(paths, (args.customers, args.transactions), strict=True):
        print(f"{path}: {rows:,} rows, {path.stat().st_size / 2**20:,.1f} MiB")
    print(f"generated in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
