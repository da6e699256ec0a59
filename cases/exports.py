"""The queue as a file, exactly as filtered: the same query building as the page (cases.queries),
only the cases the user may see, in the same order (overdue first, then the revenue at stake).
CSV is streamed in chunks; XLSX is written by openpyxl in write-only mode. Every cell goes through
winback.exports (formula cells neutralised, SUR-10)."""

from collections.abc import Iterator

from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Stage
from cases.queries import CaseFilters, PrioritySlices, queue_cases
from customers.models import Fault, Reason
from winback.exports import csv_download, xlsx_download

CHUNK_SIZE = 2000


def header() -> list[str]:
    return [
        _("Case id"),
        _("Customer id"),
        _("Customer name"),
        _("Segment"),
        _("Stage"),
        _("Owner"),
        _("Value at stake"),
        _("Reason"),
        _("Fault"),
        _("Opened"),
        _("Next deadline"),
        _("Overdue"),
        _("Won back"),
        _("Closed"),
    ]


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def rows(user, filters: CaseFilters) -> Iterator[list]:
    """The export's rows, lazily, CHUNK_SIZE cases per query."""
    now = timezone.now()
    stages, reasons, faults = dict(Stage.choices), dict(Reason.choices), dict(Fault.choices)
    for case in PrioritySlices(queue_cases(user, filters, now=now), now=now).iterator(chunk_size=CHUNK_SIZE):
        customer, owner = case.customer, case.owner
        yield [
            case.pk,
            customer.external_id,
            customer.name,
            customer.segment.name if customer.segment else "",
            str(stages.get(case.stage, case.stage)),
            (owner.get_full_name() or owner.username) if owner else "",
            case.value_at_stake,
            str(reasons.get(case.primary_reason, "")),
            str(faults.get(case.fault, "")),
            _when(case.opened_at),
            _when(case.deadline_at),
            _("yes") if case.deadline_at and case.deadline_at < now else _("no"),
            _when(case.won_back_at),
            _when(case.closed_at),
        ]


def _filename(extension: str) -> str:
    return f"cases-{timezone.localdate():%Y-%m-%d}.{extension}"


def csv_response(user, filters: CaseFilters) -> StreamingHttpResponse:
    return csv_download(header(), rows(user, filters), filename=_filename("csv"))


def xlsx_response(user, filters: CaseFilters) -> FileResponse:
    return xlsx_download(header(), rows(user, filters), sheet=_("Cases"), filename=_filename("xlsx"))
