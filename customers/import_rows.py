"""The checks of import rows, one function per kind of file: vectorised pandas operations over a
block of rows that return the normalised good rows and a `RowError` for each problem."""

from collections.abc import Callable

import numpy as np
import pandas as pd

from customers.importers import Context, FileSpec, Layout, RowError, shorten
from customers.models import Interaction, Transaction

ISO_DATE = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?"
HAS_OFFSET = r"[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)$"
AMOUNT = r"[+-]?\d{1,12}(?:\.\d{1,2})?"
EMAIL = r"[^@\s]+@[^@\s]+\.[^@\s]+"
LANGUAGE = r"[a-z]{2,3}(?:-[a-z0-9]{2,8})?"
TRUE_WORDS = {"1", "true", "yes", "y", "t", "x"}
FALSE_WORDS = {"0", "false", "no", "n", "f"}
NOT_A_TIME = np.iinfo(np.int64).min
EARLIEST_US = int(pd.Timestamp("1900-01-01", tz="UTC").value // 1000)


class Problems:
    """Collects row errors from vectorised checks; a row with any error is left out."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self.bad = np.zeros(len(frame), dtype=bool)
        self.errors: list[RowError] = []

    def add(self, mask, column: str, code: str, message: str | Callable[[str], str]) -> None:
        mask = np.asarray(mask, dtype=bool) & ~self.bad
        if not mask.any():
            return
        self.bad |= mask
        lines = self.frame["line"].to_numpy()[mask]
        values = self.frame[column].to_numpy()[mask] if column in self.frame else [""] * len(lines)
        for line, value in zip(lines, values, strict=True):
            text = message(value) if callable(message) else message
            self.errors.append(RowError(int(line), column, code, text, shorten(value)))

    def good(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[RowError]]:
        self.errors.sort(key=lambda error: error.line)
        return frame[~self.bad].reset_index(drop=True), self.errors


def _strip_all(frame: pd.DataFrame, layout: Layout) -> None:
    for name in layout.present:
        frame[name] = frame[name].str.strip()


def _common(frame: pd.DataFrame, spec: FileSpec, layout: Layout, problems: Problems) -> None:
    for name in spec.required:
        problems.add(frame[name] == "", name, "missing_value", f"{name} is empty.")
    for name, limit in spec.max_lengths.items():
        if name in layout.present:
            problems.add(frame[name].str.len() > limit, name, "too_long", f"{name} is longer than {limit} characters.")
    for name in layout.present:
        problems.add(frame[name].str.contains("\x00", regex=False), name, "nul_bytes", "The value has a NUL byte.")


def parse_times(values: pd.Series, time_zone: str) -> np.ndarray:
    """ISO 8601 dates and datetimes to UTC epoch microseconds; NOT_A_TIME for what is not one.
    Values without an offset are times in the business time zone."""
    result = np.full(len(values), NOT_A_TIME, dtype=np.int64)
    iso = values.str.fullmatch(ISO_DATE).to_numpy(dtype=bool)
    with_offset = iso & values.str.contains(HAS_OFFSET).to_numpy(dtype=bool)
    naive = iso & ~with_offset
    if with_offset.any():
        parsed = pd.to_datetime(values[with_offset], format="ISO8601", utc=True, errors="coerce")
        result[with_offset] = _epoch_us(parsed.dt.tz_convert(None))
    if naive.any():
        parsed = pd.to_datetime(values[naive], format="ISO8601", errors="coerce")
        local = parsed.dt.tz_localize(
            time_zone, ambiguous=np.zeros(len(parsed), dtype=bool), nonexistent="shift_forward"
        )
        result[naive] = _epoch_us(local.dt.tz_convert(None))
    return result


def _epoch_us(parsed: pd.Series) -> np.ndarray:
    array = parsed.to_numpy(dtype="datetime64[us]")
    return np.where(np.isnat(array), NOT_A_TIME, array.astype(np.int64))


def _times(frame, column: str, context: Context, problems: Problems) -> np.ndarray:
    times = parse_times(frame[column], context.time_zone)
    problems.add(
        (times < EARLIEST_US) & (frame[column] != ""),
        column,
        "bad_date",
        lambda v: f'"{shorten(v)}" is not an ISO 8601 date or time (YYYY-MM-DD or YYYY-MM-DDTHH:MM).',
    )
    problems.add(times > context.now_us + 86_400_000_000, column, "future_date", "The date is more than a day ahead.")
    return times


def _user_ids(frame, column: str, layout: Layout, context: Context, problems: Problems) -> pd.Series:
    if column not in layout.present:
        return pd.Series([None] * len(frame), dtype="object")
    keys = frame[column].str.lower()
    ids = keys.map(context.users)
    problems.add(
        (frame[column] != "") & ids.isna(),
        column,
        "unknown_user",
        lambda v: f'No active staff user has the username or email "{shorten(v)}".',
    )
    return ids


def check_transactions(frame, spec, layout, context) -> tuple[pd.DataFrame, list[RowError]]:
    _strip_all(frame, layout)
    problems = Problems(frame)
    _common(frame, spec, layout, problems)
    times = _times(frame, "occurred_at", context, problems)
    raw = frame["amount"]
    amount = raw.str.replace(",", ".", regex=False) if layout.delimiter == ";" else raw
    problems.add(
        (raw != "") & raw.str.contains(",", regex=False) & (layout.delimiter == ","),
        "amount",
        "bad_amount",
        "A decimal comma in a comma-separated file: use a point (12.50), or semicolons between columns.",
    )
    problems.add(
        (raw != "") & raw.str.contains(",", regex=False) & raw.str.contains(".", regex=False),
        "amount",
        "bad_amount",
        "Write amounts without thousands separators, e.g. 1234.50.",
    )
    problems.add(
        (raw != "") & ~amount.str.fullmatch(AMOUNT).to_numpy(dtype=bool),
        "amount",
        "bad_amount",
        lambda v: f'"{shorten(v)}" is not an amount (digits with at most two decimals).',
    )
    kind = frame["kind"].str.lower() if "kind" in layout.present else pd.Series([""] * len(frame))
    kind = kind.where(kind != "", Transaction.Kind.PURCHASE)
    problems.add(
        ~kind.isin(Transaction.Kind.values).to_numpy(),
        "kind",
        "bad_kind",
        lambda v: f'Unknown kind "{shorten(v)}": use purchase or refund.',
    )
    negative = amount.str.startswith("-").to_numpy(dtype=bool)
    problems.add(
        negative & (kind == Transaction.Kind.PURCHASE).to_numpy(),
        "amount",
        "negative_purchase",
        "A purchase cannot have a negative amount; use kind=refund for refunds.",
    )
    external = frame["external_id"] if "external_id" in layout.present else pd.Series([""] * len(frame))
    rows = pd.DataFrame(
        {
            "line": frame["line"],
            "customer_ext": frame["customer_id"],
            "occurred_us": times,
            "amount": amount.str.lstrip("+-"),
            "kind": kind,
            "external_id": external.where(external != "", None),
        }
    )
    return problems.good(rows)


def check_customers(frame, spec, layout, context) -> tuple[pd.DataFrame, list[RowError]]:
    _strip_all(frame, layout)
    problems = Problems(frame)
    _common(frame, spec, layout, problems)
    problems.add(
        (frame["email"] != "") & ~frame["email"].str.fullmatch(EMAIL).to_numpy(dtype=bool),
        "email",
        "bad_email",
        lambda v: f'"{shorten(v)}" is not an email address.',
    )
    managers = _user_ids(frame, "account_manager", layout, context, problems)
    blank = pd.Series([""] * len(frame))
    language = frame["language"].str.lower() if "language" in layout.present else blank
    problems.add(
        (language != "") & ~language.str.fullmatch(LANGUAGE).to_numpy(dtype=bool),
        "language",
        "bad_language",
        lambda v: f'"{shorten(v)}" is not a language code such as en, ru, bg or pl.',
    )
    flag = frame["do_not_contact"].str.lower() if "do_not_contact" in layout.present else blank
    problems.add(
        ~flag.isin(TRUE_WORDS | FALSE_WORDS | {""}).to_numpy(),
        "do_not_contact",
        "bad_boolean",
        lambda v: f'"{shorten(v)}" is not yes or no (use true/false, yes/no or 1/0).',
    )
    rows = pd.DataFrame({"line": frame["line"], "external_id": frame["customer_id"]})
    rows["name"] = frame["name"]
    rows["email"] = frame["email"]
    for name in ("phone", "company", "segment"):
        rows[name] = frame[name].where(frame[name] != "", None) if name in layout.present else None
    rows["account_manager_id"] = managers.astype("Int64")
    rows["language"] = language.where(language != "", None)
    rows["do_not_contact"] = flag.map(lambda v: None if v == "" else v in TRUE_WORDS)
    return problems.good(rows)


def _choice(frame, column, choices, default, problems, label) -> pd.Series:
    if column not in frame:
        return pd.Series([default] * len(frame))
    values = frame[column].str.lower().str.replace(r"[\s-]+", "_", regex=True)
    values = values.where(values != "", default)
    problems.add(
        ~values.isin(choices).to_numpy(),
        column,
        f"bad_{column}",
        lambda v: f'Unknown {label} "{shorten(v)}": use one of {", ".join(c for c in choices if c)}.',
    )
    return values


def check_interactions(frame, spec, layout, context) -> tuple[pd.DataFrame, list[RowError]]:
    _strip_all(frame, layout)
    problems = Problems(frame)
    _common(frame, spec, layout, problems)
    times = _times(frame, "occurred_at", context, problems)
    kind = _choice(frame, "kind", Interaction.Kind.values, "", problems, "kind")
    channel = _choice(frame, "channel", Interaction.Channel.values, Interaction.Channel.OTHER, problems, "channel")
    owners = _user_ids(frame, "owner", layout, context, problems)
    rows = pd.DataFrame(
        {
            "line": frame["line"],
            "customer_ext": frame["customer_id"],
            "occurred_us": times,
            "kind": kind,
            "summary": frame["summary"],
            "channel": channel,
            "owner_id": owners.astype("Int64"),
        }
    )
    return problems.good(rows)


CHECKS = {"customers": check_customers, "transactions": check_transactions, "interactions": check_interactions}
