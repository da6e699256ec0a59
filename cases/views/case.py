"""The case page: everything for the call on one screen. A fixed number of queries whatever the
size of the customer's history: each panel is one indexed query limited to a few rows."""

from dataclasses import dataclass, field

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from cases import policy, states
from cases.forms.case import ActivityForm, MoveForm, OfferForm, ReasonForm, TaskForm
from cases.models import Case, Offer, Stage, Task
from cases.outcomes import with_outcomes
from cases.selectors import case_for
from cases.services import case_email
from cases.timeline import page_number, timeline_page
from customers.detection.explain import explain
from customers.models import Interaction, StatusChange, Transaction
from surveys.models import Answer, Response

PANEL_ROWS = 10
SURVEY_RESPONSES = 3
SURVEY_ANSWERS = 60
OFFER_ROWS = 20
TASK_ROWS = 20
ACTIVITY_ROWS = 5


def case_queryset():
    """The case with everything the page and the permission checks read, in two queries (the
    case row with its joins and outcome figures, and its followers)."""
    return with_outcomes(
        Case.objects.select_related(
            "customer__segment",
            "customer__account_manager",
            "owner",
            "event",
            "previous_case",
            "rescued_by",
        ).prefetch_related("followers")
    )


def get_case(request, pk: int, *, work: bool = False) -> Case:
    """The case if the user may see it (404 otherwise); with `work`, 403 unless they may work it."""
    case = case_for(request.user, pk, queryset=case_queryset())
    if work and not policy.can_work_case(request.user, case):
        raise PermissionDenied
    return case


@dataclass
class SurveyResponse:
    response: Response
    answers: list = field(default_factory=list)


def departure_of(case: Case):
    """When the customer left: the detection of the case's defection, else the case's opening."""
    return case.event.detected_at if case.event_id and case.event else case.opened_at


def survey_responses(customer) -> list[SurveyResponse]:
    """The customer's latest responses with their answers in question order (two queries)."""
    responses = list(Response.objects.filter(customer=customer).order_by("-submitted_at", "-id")[:SURVEY_RESPONSES])
    if not responses:
        return []
    by_id = {response.pk: SurveyResponse(response) for response in responses}
    answers = (
        Answer.objects.filter(response_id__in=by_id)
        .select_related("question", "option")
        .order_by("response_id", "question__position", "id")[:SURVEY_ANSWERS]
    )
    for answer in answers:
        by_id[answer.response_id].answers.append(answer)
    return [by_id[response.pk] for response in responses]


def tasks_of(case: Case, user) -> list[Task]:
    """Open tasks first (by due date), then the latest done ones."""
    tasks = list(
        case.tasks.select_related("assignee").order_by(F("done_at").desc(nulls_first=True), "due_on", "id")[:TASK_ROWS]
    )
    for task in tasks:
        task.case = case  # the permission check reads it; no query per row
        task.may_complete = task.done_at is None and policy.can_complete_task(user, task)
    return tasks


def offers_of(case: Case) -> list[Offer]:
    today = timezone.localdate()
    offers = list(case.offers.select_related("created_by", "decided_by")[:OFFER_ROWS])
    for offer in offers:
        offer.is_past_expiry = offer.status == Offer.Status.OPEN and offer.expires_on < today
    return offers


def page_context(request, case: Case, **forms) -> dict:
    """What the case page shows; `forms` replace the empty action forms (a form with errors)."""
    user = request.user
    customer = case.customer
    departure = departure_of(case)
    can_work = policy.can_work_case(user, case)
    status_change = StatusChange.objects.filter(customer=customer).order_by("-changed_at", "-id").first()
    purchases_before = list(
        Transaction.objects.filter(customer=customer, occurred_at__lte=departure).order_by("-occurred_at", "-id")[
            :PANEL_ROWS
        ]
    )
    purchases_since = []
    if case.won_back_at:
        purchases_since = list(
            Transaction.objects.filter(customer=customer, occurred_at__gte=case.won_back_at).order_by(
                "-occurred_at", "-id"
            )[:PANEL_ROWS]
        )
    interactions_before = list(
        Interaction.objects.filter(customer=customer, occurred_at__lte=departure)
        .select_related("owner")
        .order_by("-occurred_at", "-id")[:PANEL_ROWS]
    )
    email_refusal = email_warning = ""
    if can_work:
        email_refusal = case_email.refusal(customer)
        email_warning = case_email.channel_warning(customer)
    context = {
        "case": case,
        "customer": customer,
        "followers": list(case.followers.all()),
        "status_change": status_change,
        "status_explanation": explain(status_change) if status_change else "",
        "departure": departure,
        "purchases_before": purchases_before,
        "purchases_since": purchases_since,
        "interactions_before": interactions_before,
        "surveys": survey_responses(customer),
        "offers": offers_of(case),
        "tasks": tasks_of(case, user),
        "activities": list(case.activities.select_related("actor")[:ACTIVITY_ROWS]),
        "timeline": timeline_page(case, number=page_number(request.GET.get("events"))),
        "is_won_back": case.stage == Stage.WON_BACK or case.won_back_at is not None,
        "net_outcome": case.recovered_revenue - case.offer_cost,
        "can_work": can_work,
        "can_reassign": policy.can_reassign_cases(user),
        "can_create_action": policy.can_create_action(user),
        "can_take": policy.can_take_case(user, case),
        "email_refusal": email_refusal,
        "email_warning": email_warning,
        "now": timezone.now(),
    }
    if can_work:
        context.update(
            activity_form=forms.get("activity_form") or ActivityForm(),
            offer_form=forms.get("offer_form") or OfferForm(),
            task_form=forms.get("task_form") or TaskForm(case=case, initial={"assignee": user.pk}),
            move_form=forms.get("move_form") or MoveForm(case=case),
            reason_form=forms.get("reason_form")
            or ReasonForm(initial={"reason": case.primary_reason, "fault": case.fault}),
            allowed_targets=states.allowed_targets(case),
        )
    return context


@require_GET
@login_required
def case_detail(request, pk: int):
    case = get_case(request, pk)
    return render(request, "cases/case/detail.html", page_context(request, case))
