"""The corrective actions exports, CSV (streamed) and XLSX (openpyxl write-only): the list
exactly as filtered, in its order. Every cell goes through winback.exports (SUR-10)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from cases.models import CorrectiveAction
from cases.views.actions import filtered_actions
from customers.models import Reason
from winback.exports import csv_download, xlsx_download

CHUNK_SIZE = 1000


def header() -> list[str]:
    return [
        _("Id"),
        _("Title"),
        _("Reason"),
        _("Status"),
        _("Owner"),
        _("Department"),
        _("Deadline"),
        _("Overdue"),
        _("Lost revenue behind it"),
        _("Done"),
        _("Respondents told"),
        _("Description"),
    ]


def rows(actions):
    """One row per action, lazily, a chunk of CHUNK_SIZE actions per query."""
    reasons, statuses = dict(Reason.choices), dict(CorrectiveAction.Status.choices)
    today = timezone.localdate()
    open_statuses = {CorrectiveAction.Status.OPEN, CorrectiveAction.Status.IN_PROGRESS}

    def stamp(value):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""

    for action in actions.iterator(chunk_size=CHUNK_SIZE):
        owner = action.owner
        yield [
            action.pk,
            action.title,
            str(reasons.get(action.reason, action.reason)),
            str(statuses.get(action.status, action.status)),
            (owner.get_full_name() or owner.get_username()) if owner else "",
            action.department,
            action.deadline.isoformat(),
            _("yes") if action.status in open_statuses and action.deadline < today else "",
            action.lost_revenue,
            stamp(action.done_at),
            stamp(action.loop_closed_at),
            action.description,
        ]


def _filename(extension: str) -> str:
    return f"corrective-actions-{timezone.localdate():%Y-%m-%d}.{extension}"


@require_GET
@login_required
def actions_export(request, fmt: str):
    if fmt not in ("csv", "xlsx"):
        raise Http404
    _form, actions = filtered_actions(request)
    if fmt == "csv":
        return csv_download(header(), rows(actions), filename=_filename("csv"))
    return xlsx_download(header(), rows(actions), sheet=_("Corrective actions"), filename=_filename("xlsx"))
