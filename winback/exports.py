"""What every CSV and XLSX export shares: cells a spreadsheet would run as a formula are
neutralised (RELIABILITY.md SUR-10, OWASP "CSV injection"), CSV is written with RFC 4180 quoting
in chunks of many rows, and XLSX cells hold no character the format forbids.

One place for this rule, used by the customer export and the survey answer export."""

import csv
import io
from collections.abc import Iterable, Iterator

from django.utils.functional import Promise
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

__all__ = ["FORMULA_TRIGGERS", "csv_chunks", "safe_cell", "safe_xlsx_cell"]

# A cell starting with one of these may be read as a formula (or, for TAB/CR/NUL, hide one).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\0")


def safe_cell(value):
    """The value to write into an export cell: None becomes "", text a spreadsheet would run as a
    formula gets a leading apostrophe, anything else (numbers, dates) is returned unchanged —
    a number such as -12.50 is written from a number, so it cannot be a formula."""
    if value is None:
        return ""
    if isinstance(value, Promise):  # a lazily translated label
        value = str(value)
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_TRIGGERS) else value
    return value


def safe_xlsx_cell(value):
    """safe_cell() for an XLSX cell, without the control characters XML cannot hold (openpyxl
    refuses them). Neutralised first, so a value that started with NUL still starts with '."""
    value = safe_cell(value)
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def csv_chunks(
    header: list[str], rows: Iterable[list], *, rows_per_chunk: int = 1000, bom: bool = False
) -> Iterator[str]:
    """CSV text (RFC 4180: CRLF line ends, fields with quotes, commas or line breaks quoted,
    quotes doubled) in chunks of many rows, for a StreamingHttpResponse: one write per row would
    make a million tiny writes. Every cell goes through safe_cell(). `bom` starts the file with a
    UTF-8 byte-order mark, which spreadsheet programs need to read non-Latin text correctly."""
    buffer = io.StringIO()
    if bom:
        buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(cell) for cell in header])
    for count, row in enumerate(rows, start=1):
        writer.writerow([safe_cell(cell) for cell in row])
        if count % rows_per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
