"""The reads behind the reviewer inbox, the response page, the customer card panel and the
reviewer digest: the inbox's filters and sorting, a short excerpt of a response's open-text answer
computed in the same query, and a response with everything its page shows.

(A selector module; it sits with the inbox views because the surveys app has no selectors package.)
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import BooleanField, ExpressionWrapper, OuterRef, Q, QuerySet, Subquery, TextField
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.dateparse import parse_date

from customers.models import Reason, ReasonChange
from surveys.models import Answer, Question, Response, ResponseReply, Survey

PAGE_SIZE = 25
EXCERPT_CHARS = 160  # shown in lists, the card and the digest (the template truncates)
EXCERPT_SOURCE_CHARS = 400  # read from the database, so a 5,000-character answer is not fetched whole

# sort key → (ORDER BY column, descending by default)
SORTS = {
    "submitted": ("submitted_at", True),
    "customer": ("customer__name", False),
    "reason": ("stated_reason", False),
    "lost_revenue": ("invitation__event__lost_revenue", True),
}
DEFAULT_SORT = "submitted"
STATES = ("new", "reviewed")


def open_text_excerpt() -> Subquery:
    """The start of the response's first non-empty open-text answer (in question order), as a
    subquery to annotate a Response queryset with: no extra query per row."""
    first = (
        Answer.objects.filter(response=OuterRef("pk"), question__kind=Question.Kind.OPEN_TEXT)
        .exclude(text="")
        .order_by("question__position", "id")
        .annotate(head=Substr("text", 1, EXCERPT_SOURCE_CHARS))
        .values("head")[:1]
    )
    return Subquery(first, output_field=TextField())


def last_close_loop_sent() -> Subquery:
    """When the latest close-the-loop reply to the response was sent (None if never)."""
    sent = (
        ResponseReply.objects.filter(
            response=OuterRef("pk"), kind=ResponseReply.Kind.CLOSE_LOOP, status=ResponseReply.Status.SENT
        )
        .order_by("-sent_at")
        .values("sent_at")[:1]
    )
    return Subquery(sent)


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


@dataclass(frozen=True)
class InboxFilters:
    state: str = ""
    reason: str = ""
    language: str = ""
    survey_id: int | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    query: str = ""
    sort: str = DEFAULT_SORT
    descending: bool = True

    @classmethod
    def from_params(cls, params) -> "InboxFilters":
        """Filters from a query string; anything unknown or malformed is ignored, never an error."""
        state = params.get("state", "")
        reason = params.get("reason", "")
        language = params.get("language", "")
        survey = params.get("survey", "")
        sort_param = params.get("sort", "")
        sort = sort_param.lstrip("-")
        if sort not in SORTS:
            sort, sort_param = DEFAULT_SORT, ""
        descending = sort_param.startswith("-") if sort_param else SORTS[sort][1]
        return cls(
            state=state if state in STATES else "",
            reason=reason if reason in Reason.values else "",
            language=language if language in dict(settings.LANGUAGES) else "",
            survey_id=int(survey) if survey.isdigit() and len(survey) < 10 else None,
            since=_date(params.get("since", "")),
            until=_date(params.get("until", "")),
            query=params.get("q", "").strip()[:100],
            sort=sort,
            descending=descending,
        )

    @property
    def sort_param(self) -> str:
        return ("-" if self.descending else "") + self.sort

    @property
    def is_filtered(self) -> bool:
        return bool(
            self.state or self.reason or self.language or self.survey_id or self.since or self.until or self.query
        )


def _date(value: str) -> dt.date | None:
    try:
        return parse_date(value.strip()) if value else None
    except ValueError:
        return None


def inbox_responses(filters: InboxFilters) -> QuerySet[Response]:
    """The inbox rows: new (unreviewed) responses first, then the rest, each group in the chosen
    order; with the customer, the defection event, the excerpt and the last reply in one query."""
    responses = Response.objects.select_related("customer", "invitation__event", "survey").annotate(
        excerpt=open_text_excerpt(), replied_at=last_close_loop_sent()
    )
    if filters.state == "new":
        responses = responses.filter(reviewed_at__isnull=True)
    elif filters.state == "reviewed":
        responses = responses.filter(reviewed_at__isnull=False)
    if filters.reason:
        responses = responses.filter(stated_reason=filters.reason)
    if filters.language:
        responses = responses.filter(language=filters.language)
    if filters.survey_id:
        responses = responses.filter(survey_id=filters.survey_id)
    if filters.since:
        responses = responses.filter(submitted_at__gte=day_start(filters.since))
    if filters.until:
        responses = responses.filter(submitted_at__lt=day_start(filters.until + dt.timedelta(days=1)))
    if filters.query:
        responses = responses.filter(customer__name__icontains=filters.query)
    column, _default_descending = SORTS[filters.sort]
    order = f"-{column}" if filters.descending else column
    reviewed = ExpressionWrapper(Q(reviewed_at__isnull=False), output_field=BooleanField())
    tie = "-id" if filters.descending else "id"
    return responses.order_by(reviewed.asc(), order, tie)


def survey_choices() -> list[tuple[int, str]]:
    return [(survey.pk, str(survey)) for survey in Survey.objects.order_by("language", "title")]


def response_for_page(pk: int) -> Response:
    """The response with its customer, account manager, event, survey and reviewer (one query);
    raises Response.DoesNotExist."""
    return Response.objects.select_related(
        "customer", "customer__account_manager", "invitation__event", "survey", "reviewed_by"
    ).get(pk=pk)


@dataclass
class AnsweredQuestion:
    question: Question
    answers: list[Answer]


def answers_in_question_order(response: Response) -> list[AnsweredQuestion]:
    """Every question of the response's survey in order with the answers given to it (two
    queries); questions left unanswered come with an empty list."""
    questions = list(response.survey.questions.order_by("position"))
    by_question: dict[int, list[Answer]] = {question.pk: [] for question in questions}
    extra: list[Answer] = []
    for answer in response.answers.select_related("option", "question").order_by("question__position", "id"):
        if answer.question_id in by_question:
            by_question[answer.question_id].append(answer)
        else:
            extra.append(answer)
    result = [AnsweredQuestion(question=q, answers=by_question[q.pk]) for q in questions]
    # Answers to a question no longer in the survey (edited afterwards) are still shown.
    for answer in extra:
        result.append(AnsweredQuestion(question=answer.question, answers=[answer]))
    return result


def reason_history(response: Response) -> list[ReasonChange]:
    event = response.invitation.event
    return list(event.reason_changes.select_related("changed_by").order_by("-changed_at", "-id"))


def replies_of(response: Response) -> list[ResponseReply]:
    return list(response.replies.select_related("created_by").order_by("-created_at", "-id"))
