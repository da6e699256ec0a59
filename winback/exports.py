"""What every CSV and XLSX export shares: cells a spreadsheet would run as a formula are
neutralised (RELIABILITY.md SUR-10, OWASP "CSV injection"), CSV is written with RFC 4180 quoting
in chunks of many rows, and XLSX cells hold no character the format forbids.

One place for this rule, used by every export (customers, survey answers, cases, corrective
actions), and the two downloads they answer with: a streamed CSV and an XLSX built in a temporary
file, both never cached (RELIABILITY.md: Cache-Control no-store on export pages)."""

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator

from django.http import FileResponse, StreamingHttpResponse
from django.utils.functional import Promise
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

__all__ = ["FORMULA_TRIGGERS", "csv_chunks", "csv_download", "safe_cell", "safe_xlsx_cell", "xlsx_download"]

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


def csv_download(header: list[str], rows: Iterable[list], *, filename: str) -> StreamingHttpResponse:
    """The rows as a streamed CSV attachment, with a byte-order mark (spreadsheet programs read
    Cyrillic and Polish text as mojibake without it)."""
    response = StreamingHttpResponse(csv_chunks(header, rows, bom=True), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def xlsx_download(header: list[str], rows: Iterable[list], *, sheet: str, filename: str) -> FileResponse:
    """The rows as an XLSX attachment: a write-only workbook, so rows go to a temporary file
    rather than memory."""
    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(str(sheet))
    worksheet.append([safe_xlsx_cell(cell) for cell in header])
    for row in rows:
        worksheet.append([safe_xlsx_cell(cell) for cell in row])
    output = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it after sending)
    workbook.save(output)
    output.seek(0)
    response = FileResponse(
        output,
        as_attachment=True,
        filename=filename,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Cache-Control"] = "no-store"
    return response
