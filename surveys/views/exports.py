"""The answer exports, CSV (streamed) and XLSX (openpyxl write-only), for executives and
administrators: one row per response, filtered by the submission period, the survey and the
reason the customer named.

With a survey chosen the file is wide: one column per question of that survey. Without one the
surveys' questions differ, so the file is long: one row per response and question answered, with
the question's text and the answer (a response with no answers still has one row). Every cell
goes through winback.exports (formula neutralisation, SUR-10)."""

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from customers.models import Fault, Reason
from surveys import policy
from surveys.figures import parse_date_safe
from surveys.models import Answer, Question, Response, Survey
from winback.exports import csv_download, xlsx_download

CHUNK_SIZE = 1000
MULTIPLE_ANSWER_SEPARATOR = "; "


@dataclass(frozen=True)
class ExportFilters:
    first: dt.date | None  # submitted on or after this day (business time zone)
    last: dt.date | None  # submitted on or before this day
    survey: Survey | None
    reason: str  # a Reason value, or "" for every reason

    @classmethod
    def from_params(cls, params) -> "ExportFilters":
        survey = None
        survey_id = params.get("survey", "")
        if survey_id:
            if not survey_id.isdigit():
                survey_id = "0"
            survey = get_object_or_404(Survey.objects.prefetch_related("questions"), pk=survey_id)
        reason = params.get("reason", "")
        return cls(
            first=parse_date_safe(params.get("from")),
            last=parse_date_safe(params.get("to")),
            survey=survey,
            reason=reason if reason in Reason.values else "",
        )


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_default_timezone())


def export_responses(filters: ExportFilters):
    """The responses to export, oldest first, with what the rows need: two queries per chunk of
    CHUNK_SIZE responses when iterated with .iterator(chunk_size=CHUNK_SIZE)."""
    responses = Response.objects.select_related("customer__segment", "invitation__event", "survey").only(
        "id",
        "language",
        "submitted_at",
        "stated_reason",
        "contact_consent",
        "customer__external_id",
        "customer__name",
        "customer__segment__name",
        "invitation__event__primary_reason",
        "invitation__event__fault",
        "survey__title",
    )
    if filters.first:
        responses = responses.filter(submitted_at__gte=_day_start(filters.first))
    if filters.last:
        responses = responses.filter(submitted_at__lt=_day_start(filters.last + dt.timedelta(days=1)))
    if filters.survey:
        responses = responses.filter(survey=filters.survey)
    if filters.reason:
        responses = responses.filter(stated_reason=filters.reason)
    answers = Answer.objects.select_related("option", "question").order_by("question__position", "question_id", "id")
    return responses.prefetch_related(Prefetch("answers", queryset=answers)).order_by("submitted_at", "id")


def _base_header() -> list[str]:
    return [
        _("Customer id"),
        _("Name"),
        _("Segment"),
        _("Language"),
        _("Submitted"),
        _("Reason given"),
        _("Confirmed reason"),
        _("Fault"),
        _("May be contacted"),
    ]


def _base_cells(response: Response, reasons: dict, faults: dict) -> list:
    customer, event = response.customer, response.invitation.event
    consent = {True: _("yes"), False: _("no"), None: ""}[response.contact_consent]
    return [
        customer.external_id,
        customer.name,
        customer.segment.name if customer.segment else "",
        response.language,
        timezone.localtime(response.submitted_at).strftime("%Y-%m-%d %H:%M"),
        reasons.get(response.stated_reason, ""),
        reasons.get(event.primary_reason, ""),
        faults.get(event.fault, ""),
        consent,
    ]


def _answers_by_question(response: Response) -> dict[int, tuple[Question, object]]:
    """{question id: (question, value)}; several options of one question are joined."""
    found: dict[int, tuple[Question, list]] = {}
    for answer in response.answers.all():
        if answer.option_id is not None:
            value = answer.option.label
        elif answer.rating is not None:
            value = answer.rating
        else:
            value = answer.text
        found.setdefault(answer.question_id, (answer.question, []))[1].append(value)
    return {
        key: (question, values[0] if len(values) == 1 else MULTIPLE_ANSWER_SEPARATOR.join(str(v) for v in values))
        for key, (question, values) in found.items()
    }


def export_table(filters: ExportFilters) -> tuple[list[str], Iterator[list]]:
    """(header, rows) of the export; rows are produced lazily, chunk by chunk."""
    reasons, faults = dict(Reason.choices), dict(Fault.choices)
    responses = export_responses(filters).iterator(chunk_size=CHUNK_SIZE)
    if filters.survey:
        questions = sorted(filters.survey.questions.all(), key=lambda q: (q.position, q.pk))
        header = _base_header() + [f"{q.position}. {q.text}" for q in questions]

        def wide_rows():
            for response in responses:
                answers = _answers_by_question(response)
                yield _base_cells(response, reasons, faults) + [
                    answers[q.pk][1] if q.pk in answers else "" for q in questions
                ]

        return header, wide_rows()

    header = _base_header() + [_("Survey"), _("Question"), _("Answer")]

    def long_rows():
        for response in responses:
            base = _base_cells(response, reasons, faults) + [response.survey.title]
            answers = _answers_by_question(response)
            if not answers:
                yield base + ["", ""]
            for question, value in sorted(answers.values(), key=lambda qv: (qv[0].position, qv[0].pk)):
                yield base + [question.text, value]

    return header, long_rows()


def _filename(extension: str) -> str:
    return f"survey-answers-{timezone.localdate():%Y-%m-%d}.{extension}"


def _check(request) -> ExportFilters:
    if not policy.can_export_answers(request.user):
        raise PermissionDenied
    return ExportFilters.from_params(request.GET)


@require_GET
@login_required
def answers_export_csv(request):
    header, rows = export_table(_check(request))
    return csv_download(header, rows, filename=_filename("csv"))


@require_GET
@login_required
def answers_export_xlsx(request):
    header, rows = export_table(_check(request))
    return xlsx_download(header, rows, sheet=_("Answers"), filename=_filename("xlsx"))
