"""Reading and checking import files: the single place where CSV files are parsed.

A file is streamed in blocks with pyarrow's CSV reader (a 2 GB file never sits in memory), each
block is checked with vectorised pandas operations, and the good rows come out as normalised
DataFrames ready for the staging table. Row problems are reported with the line, the column, a
stable error code and a message; problems with the file as a whole raise `FileRejected`.

Line numbers count records with the header as line 1: they are the line a text editor shows
unless an earlier value spans several lines or the file has empty lines.
"""

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from charset_normalizer import from_bytes

from customers.models import Interaction, Transaction

SAMPLE_BYTES = 64 * 1024
MAX_HEADER_BYTES = 4 * 1024 * 1024
MAX_REPORTED_VALUE = 80
ISO_DATE = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?"
HAS_OFFSET = r"[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)$"
AMOUNT = r"[+-]?\d{1,12}(?:\.\d{1,2})?"
EMAIL = r"[^@\s]+@[^@\s]+\.[^@\s]+"
LANGUAGE = r"[a-z]{2,3}(?:-[a-z0-9]{2,8})?"
TRUE_WORDS = {"1", "true", "yes", "y", "t", "x"}
FALSE_WORDS = {"0", "false", "no", "n", "f"}
NOT_A_TIME = np.iinfo(np.int64).min
EARLIEST_US = int(pd.Timestamp("1900-01-01", tz="UTC").value // 1000)


@dataclass(frozen=True)
class FileSpec:
    kind: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    max_lengths: dict[str, int]

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


SPECS = {
    "customers": FileSpec(
        "customers",
        ("customer_id", "name", "email"),
        ("phone", "company", "segment", "account_manager", "language", "do_not_contact"),
        {"customer_id": 64, "name": 200, "email": 254, "phone": 50, "company": 200, "segment": 100},
    ),
    "transactions": FileSpec(
        "transactions",
        ("customer_id", "occurred_at", "amount"),
        ("external_id", "kind"),
        {"customer_id": 64, "external_id": 64},
    ),
    "interactions": FileSpec(
        "interactions",
        ("customer_id", "occurred_at", "kind", "summary"),
        ("channel", "owner"),
        {"customer_id": 64, "summary": 10_000},
    ),
}


class FileRejected(Exception):
    """The file as a whole cannot be imported (encoding, header, structure)."""

    def __init__(self, code: str, message: str, line: int | None = None):
        super().__init__(message)
        self.code, self.message, self.line = code, message, line

    def as_dict(self) -> dict:
        return {"line": self.line, "column": "", "code": self.code, "message": self.message, "value": ""}


@dataclass
class RowError:
    line: int
    column: str
    code: str
    message: str
    value: str = ""

    def as_dict(self) -> dict:
        return {
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "message": self.message,
            "value": self.value,
        }


@dataclass
class Layout:
    delimiter: str
    has_bom: bool
    header: list[str]
    present: list[str]
    unknown: list[str]

    def warnings(self) -> list[str]:
        if not self.unknown:
            return []
        shown = ", ".join(self.unknown[:20]) + (f" and {len(self.unknown) - 20} more" if len(self.unknown) > 20 else "")
        return [f"Unknown columns were ignored: {shown}."]


@dataclass
class Context:
    """What the checks need to know beyond the file: the business time zone, now, and the staff
    users that may be named as account managers or owners (username or email, any case)."""

    time_zone: str
    now_us: int
    users: dict[str, int] = field(default_factory=dict)


@dataclass
class Block:
    rows: pd.DataFrame
    errors: list[RowError]
    records: int


def inspect(path: Path, spec: FileSpec) -> Layout:
    """Checks the encoding, the delimiter and the header; raises FileRejected with a clear reason."""
    with open(path, "rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
        handle.seek(0)
        header_bytes = handle.readline(MAX_HEADER_BYTES)
    if not sample.strip(codecs.BOM_UTF8 + b" \r\n\t"):
        raise FileRejected("empty_file", "The file is empty.")
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        name = "UTF-32" if sample[:4] in (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE) else "UTF-16"
        raise FileRejected("not_utf8", _save_as_utf8(name))
    has_bom = sample.startswith(codecs.BOM_UTF8)
    text_sample = sample[3:] if has_bom else sample
    try:
        codecs.getincrementaldecoder("utf-8")().decode(text_sample, final=False)
    except UnicodeDecodeError:
        raise FileRejected("not_utf8", _save_as_utf8(_guess_encoding(sample))) from None
    if b"\x00" in text_sample:
        line = text_sample[: text_sample.index(b"\x00")].count(b"\n") + 1
        raise FileRejected("nul_bytes", "The file contains NUL bytes, so it is not a text CSV file.", line)

    first_line = header_bytes.removeprefix(codecs.BOM_UTF8).decode("utf-8", errors="replace").splitlines()[0]
    delimiter = _delimiter(first_line)
    header = [name.strip().lower() for name in next(csv.reader([first_line], delimiter=delimiter))]
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise FileRejected("duplicate_column", f'The column "{name}" appears twice in the header.', 1)
        seen.add(name)
    missing = [name for name in spec.required if name not in seen]
    if missing:
        raise FileRejected(
            "missing_column",
            f"Required column{'s' if len(missing) > 1 else ''} missing from the header: {', '.join(missing)}. "
            f"A {spec.kind} file needs {', '.join(spec.required)}.",
            1,
        )
    present = [name for name in header if name in spec.columns]
    unknown = [name for name in header if name not in spec.columns]
    return Layout(delimiter=delimiter, has_bom=has_bom, header=header, present=present, unknown=unknown)


def _delimiter(first_line: str) -> str:
    commas, semicolons = first_line.count(","), first_line.count(";")
    if commas or semicolons:
        return ";" if semicolons > commas else ","
    for other, name in (("\t", "tabs"), ("|", "vertical bars")):
        if other in first_line:
            raise FileRejected(
                "bad_delimiter", f"The columns are separated by {name}; use commas or semicolons.", line=1
            )
    return ","


def _guess_encoding(sample: bytes) -> str:
    best = from_bytes(sample).best()
    return best.encoding if best is not None else "unknown"


def _save_as_utf8(encoding: str) -> str:
    return (
        f"The file is not UTF-8 (it looks like {encoding}). Save it as UTF-8 "
        '("CSV UTF-8" in Excel) and import it again.'
    )


def read_blocks(path: Path, spec: FileSpec, layout: Layout, context: Context, block_bytes: int) -> Iterator[Block]:
    """Streams the file and yields checked blocks. Rows with the wrong number of fields are
    reported and left out; everything else is checked by `check_<kind>`."""
    invalid: dict[int, RowError] = {}

    def on_invalid_row(row) -> str:
        line = int(row.number) if row.number is not None else 0
        if row.text.count('"') % 2:
            invalid[line] = RowError(
                line, "", "malformed_csv", "A quoted value starting here is never closed.", _shorten(row.text)
            )
            return "skip"
        invalid[line] = RowError(
            line,
            "",
            "ragged_row",
            f"The row has {row.actual_columns} fields but the header has {row.expected_columns}.",
            _shorten(row.text),
        )
        return "skip"

    handle = open(path, "rb")  # noqa: SIM115 - closed in the finally below
    try:
        if layout.has_bom:
            handle.seek(3)
        reader = pa_csv.open_csv(
            handle,
            read_options=pa_csv.ReadOptions(
                block_size=block_bytes, use_threads=False, skip_rows=1, column_names=layout.header
            ),
            parse_options=pa_csv.ParseOptions(
                delimiter=layout.delimiter, newlines_in_values=True, invalid_row_handler=on_invalid_row
            ),
            convert_options=pa_csv.ConvertOptions(
                include_columns=layout.present,
                column_types={name: pa.string() for name in layout.present},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        next_line = 2
        checker = CHECKS[spec.kind]
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            lines = _line_numbers(next_line, batch.num_rows, invalid)
            next_line = int(lines[-1]) + 1 if len(lines) else next_line
            frame = batch.to_pandas()
            frame.insert(0, "line", lines)
            errors = [invalid.pop(line) for line in sorted(k for k in invalid if k < next_line)]
            rows, row_errors = checker(frame, spec, layout, context)
            yield Block(rows=rows, errors=errors + row_errors, records=batch.num_rows)
        leftover = [invalid.pop(line) for line in sorted(invalid)]
        if leftover:
            yield Block(rows=pd.DataFrame(), errors=leftover, records=0)
    except pa.ArrowInvalid as error:
        raise _structure_error(str(error)) from None
    finally:
        handle.close()


def _line_numbers(start: int, count: int, invalid: dict[int, RowError]) -> np.ndarray:
    """The line numbers of `count` good rows from `start` on, skipping the invalid rows' lines."""
    skipped = sorted(line for line in invalid if line >= start)
    candidates = np.arange(start, start + count + len(skipped), dtype=np.int64)
    if skipped:
        candidates = candidates[~np.isin(candidates, skipped)]
    return candidates[:count]


def _structure_error(message: str) -> FileRejected:
    row = re.search(r"Row #(\d+)", message)
    line = int(row.group(1)) if row else None
    if "invalid UTF8" in message:
        return FileRejected("not_utf8", "The file is not valid UTF-8 " + _save_as_utf8("another encoding")[20:], line)
    if "quote" in message.lower() or "end of file" in message.lower():
        return FileRejected("malformed_csv", "A quoted value is never closed, so the file ends inside it.", line)
    return FileRejected("malformed_csv", f"The file is not valid CSV: {message}", line)


def _shorten(value) -> str:
    text = str(value)
    return text if len(text) <= MAX_REPORTED_VALUE else text[: MAX_REPORTED_VALUE - 1] + "…"


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
            self.errors.append(RowError(int(line), column, code, text, _shorten(value)))

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
        lambda v: f'"{_shorten(v)}" is not an ISO 8601 date or time (YYYY-MM-DD or YYYY-MM-DDTHH:MM).',
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
        lambda v: f'No active staff user has the username or email "{_shorten(v)}".',
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
        lambda v: f'"{_shorten(v)}" is not an amount (digits with at most two decimals).',
    )
    kind = frame["kind"].str.lower() if "kind" in layout.present else pd.Series([""] * len(frame))
    kind = kind.where(kind != "", Transaction.Kind.PURCHASE)
    problems.add(
        ~kind.isin(Transaction.Kind.values).to_numpy(),
        "kind",
        "bad_kind",
        lambda v: f'Unknown kind "{_shorten(v)}": use purchase or refund.',
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
        lambda v: f'"{_shorten(v)}" is not an email address.',
    )
    managers = _user_ids(frame, "account_manager", layout, context, problems)
    blank = pd.Series([""] * len(frame))
    language = frame["language"].str.lower() if "language" in layout.present else blank
    problems.add(
        (language != "") & ~language.str.fullmatch(LANGUAGE).to_numpy(dtype=bool),
        "language",
        "bad_language",
        lambda v: f'"{_shorten(v)}" is not a language code such as en, ru, bg or pl.',
    )
    flag = frame["do_not_contact"].str.lower() if "do_not_contact" in layout.present else blank
    problems.add(
        ~flag.isin(TRUE_WORDS | FALSE_WORDS | {""}).to_numpy(),
        "do_not_contact",
        "bad_boolean",
        lambda v: f'"{_shorten(v)}" is not yes or no (use true/false, yes/no or 1/0).',
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
        lambda v: f'Unknown {label} "{_shorten(v)}": use one of {", ".join(c for c in choices if c)}.',
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


def first_rows(path: Path, layout: Layout, limit: int = 10) -> list[list[str]]:
    """The header and the first rows as text, for the preview before anything is written."""
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.reader(io.StringIO(handle.read(SAMPLE_BYTES)), delimiter=layout.delimiter)
        rows = []
        for row in reader:
            rows.append([_shorten(value) for value in row[:12]])
            if len(rows) > limit:
                break
    return rows
