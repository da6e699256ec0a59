"""The reviewer inbox: the list of responses (new ones first), one response with its full answers,
and the reviewer's actions on it (mark reviewed; confirm or change the reason and fault).
Replies to the respondent are in surveys/views/inbox_replies.py."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from customers.models import Fault, Reason
from surveys import policy
from surveys.forms.inbox import ReviewReasonForm
from surveys.models import Response, SurveySettings
from surveys.services import review
from surveys.suppression import survey_mail_refusal
from surveys.views import inbox_queries as queries

# (label, sort key or None, CSS classes): the inbox's columns, left to right.
COLUMNS = (
    (gettext_lazy("Answered"), "submitted", "text-nowrap"),
    (gettext_lazy("Customer"), "customer", ""),
    (gettext_lazy("Reason given"), "reason", ""),
    (gettext_lazy("Confirmed reason and fault"), None, "d-none d-lg-table-cell"),
    (gettext_lazy("In their words"), None, "d-none d-md-table-cell"),
    (gettext_lazy("Lost revenue"), "lost_revenue", "text-end d-none d-xl-table-cell"),
    (gettext_lazy("State"), None, ""),
)


def _columns(filters: queries.InboxFilters) -> list[dict]:
    columns = []
    for label, key, css in COLUMNS:
        column = {"label": label, "css": css, "sort": None, "aria_sort": ""}
        if key:
            current = filters.sort == key
            descending = not filters.descending if current else queries.SORTS[key][1]
            column["sort"] = f"-{key}" if descending else key
            if current:
                column["aria_sort"] = "descending" if filters.descending else "ascending"
        columns.append(column)
    return columns


def get_response_for_user(request, pk: int) -> Response:
    """The response for its page (404 when there is none, 403 when the user may not see responses)."""
    if not policy.can_view_responses(request.user):
        raise PermissionDenied
    try:
        return queries.response_for_page(pk)
    except Response.DoesNotExist as error:
        raise Http404 from error


@require_GET
@login_required
def response_list(request):
    if not policy.can_view_responses(request.user):
        raise PermissionDenied
    filters = queries.InboxFilters.from_params(request.GET)
    page = Paginator(queries.inbox_responses(filters), queries.PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "filters": filters,
        "columns": _columns(filters),
        "reasons": Reason.choices,
        "languages": settings.LANGUAGES,
        "surveys": queries.survey_choices(),
        "can_send_bulk": policy.can_send_bulk_return_invitations(request.user),
    }
    return render(request, "surveys/inbox/response_list.html", context)


@require_GET
@login_required
def response_detail(request, pk: int):
    response = get_response_for_user(request, pk)
    survey_settings = SurveySettings.load()
    event = response.invitation.event
    answered = queries.answers_in_question_order(response)
    can_review = policy.can_review_responses(request.user, survey_settings)
    can_reply = policy.can_reply_to_response(request.user, response, survey_settings)
    initial = {"reason": event.primary_reason or response.stated_reason or Reason.OTHER, "fault": event.fault}
    context = {
        "response": response,
        "customer": response.customer,
        "event": event,
        "answered": answered,
        "history": queries.reason_history(response),
        "replies": queries.replies_of(response),
        "can_review": can_review,
        "can_reply": can_reply,
        "can_invite_back": can_reply,
        "refusal": survey_mail_refusal(response.customer) if can_reply else "",
        "reason_form": ReviewReasonForm(initial=initial, auto_id="id_reason_%s") if can_review else None,
        "faults": Fault,
    }
    return render(request, "surveys/inbox/response_detail.html", context)


def _require_reviewer(request, response: Response) -> None:
    if not policy.can_review_responses(request.user):
        raise PermissionDenied


@require_POST
@login_required
def response_mark_reviewed(request, pk: int):
    response = get_response_for_user(request, pk)
    _require_reviewer(request, response)
    review.response_mark_reviewed(response=response, actor=request.user)
    messages.success(request, _("Marked as reviewed."))
    return redirect("surveys:response_detail", pk=response.pk)


@require_POST
@login_required
def response_set_reason(request, pk: int):
    response = get_response_for_user(request, pk)
    _require_reviewer(request, response)
    form = ReviewReasonForm(request.POST)
    if form.is_valid():
        try:
            review.response_set_reason(response=response, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Reason and fault saved on the defection."))
    else:
        messages.error(request, _("Choose a reason and a fault."))
    return redirect("surveys:response_detail", pk=response.pk)
