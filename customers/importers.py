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

SAMPLE_BYTES = 64 * 1024
MAX_HEADER_BYTES = 4 * 1024 * 1024
MAX_REPORTED_VALUE = 80
MAX_COLUMN_NAME = 40
SCAN_BYTES = 1024 * 1024
# The reader's block is also the unit of the pandas checks, and each MB of CSV becomes some 25 MB of
# Python objects while it is checked: larger blocks raise a worker's peak memory (RELIABILITY.md
# IMP-04: under 300 MB for a 50 MB file) more than they speed it up.
MAX_BLOCK_BYTES = 1024 * 1024
# The header line may hold long (unknown, ignored) column names: Python's csv module must read it.
csv.field_size_limit(max(csv.field_size_limit(), MAX_HEADER_BYTES))


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
    header_bytes: int = 0

    def warnings(self) -> list[str]:
        if not self.unknown:
            return []
        names = [shorten(name, MAX_COLUMN_NAME) for name in self.unknown[:20]]
        shown = ", ".join(names) + (f" and {len(self.unknown) - 20} more" if len(self.unknown) > 20 else "")
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


Checker = Callable[[pd.DataFrame, FileSpec, Layout, Context], tuple[pd.DataFrame, list[RowError]]]


def inspect(path: Path, spec: FileSpec) -> Layout:
    """Checks the encoding, the delimiter and the header; raises FileRejected with a clear reason."""
    with open(path, "rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
        handle.seek(0)
        header_bytes = handle.readline(MAX_HEADER_BYTES)
    if not sample.strip(codecs.BOM_UTF8 + b" \r\n\t"):
        raise FileRejected("empty_file", "The file is empty.", 1)
    wide = _wide_encoding(sample)
    if wide:
        raise FileRejected("not_utf8", _save_as_utf8(wide), 1)
    has_bom = sample.startswith(codecs.BOM_UTF8)
    text_sample = sample[3:] if has_bom else sample
    try:
        codecs.getincrementaldecoder("utf-8")().decode(text_sample, final=False)
    except UnicodeDecodeError as error:
        raise _not_utf8(text_sample, error.start, text_sample[: error.start].count(b"\n") + 1) from None
    if b"\x00" in text_sample:
        line = text_sample[: text_sample.index(b"\x00")].count(b"\n") + 1
        raise FileRejected("nul_bytes", "The file contains NUL bytes, so it is not a text CSV file.", line)

    if len(header_bytes) >= MAX_HEADER_BYTES and not header_bytes.endswith(b"\n"):
        raise FileRejected("too_long", "The header line is longer than 4 MB.", 1)
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
    return Layout(
        delimiter=delimiter,
        has_bom=has_bom,
        header=header,
        present=present,
        unknown=unknown,
        header_bytes=len(header_bytes),
    )


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


def _wide_encoding(sample: bytes) -> str:
    """UTF-16 or UTF-32, told by the byte-order mark or, without one, by the zero bytes that
    every other byte of mostly-ASCII UTF-16 text is; "" for anything else."""
    if sample.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "UTF-32"
    if sample.startswith(codecs.BOM_UTF16_LE):
        return "UTF-16 LE"
    if sample.startswith(codecs.BOM_UTF16_BE):
        return "UTF-16 BE"
    head = sample[:4096]
    half = len(head) // 2
    if half >= 4:
        if head[1::2].count(0) > 0.4 * half and head[0::2].count(0) < 0.1 * half:
            return "UTF-16 LE"
        if head[0::2].count(0) > 0.4 * half and head[1::2].count(0) < 0.1 * half:
            return "UTF-16 BE"
    return ""


def guess_encoding(around: bytes) -> str:
    """A small guess at the encoding of bytes that are not UTF-8: Windows-1252 (what Excel
    saves as "CSV") when they decode as such, otherwise unknown."""
    try:
        around.decode("cp1252")
    except UnicodeDecodeError:
        return "an unknown encoding"
    return "Windows-1252"


def _not_utf8(data: bytes, position: int, line: int) -> FileRejected:
    around = data[max(0, position - 64) : position + 64]
    return FileRejected("not_utf8", _save_as_utf8(guess_encoding(around), line), line)


def find_not_utf8(path: Path) -> FileRejected | None:
    """Reads the whole file in 1 MB pieces for the first byte that is not UTF-8 (the line it is on
    and a guess at the encoding); None when the file is valid UTF-8."""
    decoder_carry, lines = b"", 0
    with open(path, "rb") as handle:
        while piece := handle.read(SCAN_BYTES):
            chunk = decoder_carry + piece
            try:
                chunk.decode("utf-8")
                decoder_carry = b""
            except UnicodeDecodeError as error:
                if error.reason == "unexpected end of data" and error.start >= len(chunk) - 3:
                    decoder_carry = chunk[error.start :]  # a character cut by the piece boundary
                    chunk = chunk[: error.start]
                else:
                    return _not_utf8(chunk, error.start, lines + chunk[: error.start].count(b"\n") + 1)
            lines += chunk.count(b"\n")
    if decoder_carry:
        return _not_utf8(decoder_carry, 0, lines + 1)
    return None


def _save_as_utf8(encoding: str, line: int | None = None) -> str:
    where = f"; the first character that is not UTF-8 is on line {line}" if line and line > 1 else ""
    return (
        f"The file is not UTF-8 (it looks like {encoding}{where}). Save it as UTF-8 "
        '("CSV UTF-8" in Excel) and import it again.'
    )


def read_blocks(
    path: Path, spec: FileSpec, layout: Layout, context: Context, block_bytes: int, check: Checker
) -> Iterator[Block]:
    """Streams the file and yields blocks checked by `check` (one of `customers.import_rows.CHECKS`),
    of at most MAX_BLOCK_BYTES. Rows with the wrong number of fields are reported here and left out."""
    # The header must fit in the first block (long names of ignored columns are allowed).
    block_bytes = min(block_bytes, max(MAX_BLOCK_BYTES, 2 * layout.header_bytes + 64 * 1024))
    invalid: dict[int, RowError] = {}

    def on_invalid_row(row) -> str:
        line = int(row.number) if row.number is not None else 0
        if row.text.count('"') % 2:
            invalid[line] = RowError(
                line, "", "malformed_csv", "A quoted value starting here is never closed.", shorten(row.text)
            )
            return "skip"
        invalid[line] = RowError(
            line,
            "",
            "ragged_row",
            f"The row has {row.actual_columns} fields but the header has {row.expected_columns}.",
            shorten(row.text),
        )
        return "skip"

    handle = open(path, "rb")  # noqa: SIM115 - closed in the finally below
    next_line = 2
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
            rows, row_errors = check(frame, spec, layout, context)
            yield Block(rows=rows, errors=errors + row_errors, records=batch.num_rows)
        leftover = [invalid.pop(line) for line in sorted(invalid)]
        if leftover:
            yield Block(rows=pd.DataFrame(), errors=leftover, records=0)
    except pa.ArrowInvalid as error:
        if "invalid UTF8" in str(error):
            raise (find_not_utf8(path) or _structure_error(str(error))) from None
        if "straddl" in str(error):  # one row longer than a block: far longer than any column allows
            raise FileRejected(
                "too_long",
                f"A row on line {next_line} or soon after is longer than {block_bytes // 1024 // 1024} MB; "
                "no column allows values that long.",
                next_line,
            ) from None
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
        return FileRejected("not_utf8", _save_as_utf8("an unknown encoding", line), line)
    if "quote" in message.lower() or "end of file" in message.lower():
        return FileRejected("malformed_csv", "A quoted value is never closed, so the file ends inside it.", line)
    return FileRejected("malformed_csv", f"The file is not valid CSV: {shorten(message, 200)}", line)


def shorten(value, limit: int = MAX_REPORTED_VALUE) -> str:
    """A value as the error report shows it: at most `limit` characters, NUL bytes written as
    U+2400 (the report is stored as JSON in PostgreSQL, which cannot hold them)."""
    text = str(value).replace("\x00", "\u2400")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def first_rows(path: Path, layout: Layout, limit: int = 10) -> list[list[str]]:
    """The header and the first rows as text, for the preview before anything is written."""
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.reader(io.StringIO(handle.read(SAMPLE_BYTES)), delimiter=layout.delimiter)
        rows = []
        for row in reader:
            rows.append([shorten(value) for value in row[:12]])
            if len(rows) > limit:
                break
    return rows
