"""The board: a column per stage with its count and money at stake, the top cards by value, and
moving a card through the state machine (cases.states.move, the same validated transition as the
case page). With htmx the answer is the board itself (the move's error shown on the card); without
JavaScript a plain POST redirects back to the board with a message."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cases import policy, states
from cases.forms.lists import BoardMoveForm
from cases.models import Case, Stage
from cases.queries import BOARD_CARDS, BOARD_CLOSED_DAYS, CaseFilters, board_columns, filter_choices, sees_every_case
from cases.selectors import case_for
from cases.states import allowed_targets
from customers.models import Reason
from winback.roles import is_executive, role_of


def _board_context(request, filters: CaseFilters, *, failed_case=None, failed_form=None) -> dict:
    user = request.user
    columns = board_columns(user, filters)
    query_string = urlencode(filters.params)
    labels = dict(Stage.choices)
    # The move controls' options as markup, once per page (the targets depend only on the stage):
    # seventy cards each looping over the options through the template engine cost more than the
    # board's queries.
    stage_options = {
        stage: format_html_join(
            "", '<option value="{}">{}</option>', ((s, labels[s]) for s in allowed_targets(Case(stage=stage)))
        )
        for stage in Stage.values
    }
    for column in columns:
        column.queue_url = reverse("cases:queue") + "?" + urlencode({**filters.params, "stage": column.stage})
        for case in column.cards:
            case.can_move = policy.can_work_case(user, case)
            if failed_case is not None and case.pk == failed_case.pk:
                case.move_form = failed_form
            elif case.can_move:
                # Plain markup for the ~70 cards (a bound form per card doubled the page's time);
                # only a refused move re-renders its card through BoardMoveForm with the errors.
                case.move_options = stage_options[case.stage]
    return {
        "columns": columns,
        "filters": filters,
        "choices": filter_choices(user),
        "sees_every_case": sees_every_case(user),
        "is_executive": is_executive(user),
        "query_string": query_string,
        "card_limit": BOARD_CARDS,
        "closed_days": BOARD_CLOSED_DAYS,
        "diagnosed": Stage.DIAGNOSED.value,
        "reason_options": format_html_join("", '<option value="{}">{}</option>', Reason.choices),
    }


@require_GET
@login_required
def board(request):
    if role_of(request.user) is None or not request.user.is_active:
        raise PermissionDenied
    filters = CaseFilters.from_params(request.GET, request.user)
    return render(request, "cases/lists/board.html", _board_context(request, filters))


@require_POST
@login_required
def board_move(request, pk: int):
    """Moves one card: 404 when the case is not visible, 403 when the user may not work on it;
    a refused move changes nothing and says why."""
    case = case_for(request.user, pk)
    if not policy.can_work_case(request.user, case):
        raise PermissionDenied
    form = BoardMoveForm(request.POST, case=case)
    filters = CaseFilters.from_params(QueryDict(request.POST.get("filters", "")[:1000]), request.user)
    moved = False
    if form.is_valid():
        data = form.cleaned_data
        try:
            states.move(case, data["stage"], actor=request.user, note=data["note"], reason=data["reason"])
            moved = True
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
    if moved:
        message = _("%(name)s moved to “%(stage)s”.") % {
            "name": case.customer.name,
            "stage": Stage(data["stage"]).label,
        }
    else:
        message = _("The case was not moved: %(problems)s") % {
            "problems": " ".join(str(text) for errors in form.errors.values() for text in errors)
        }
    if request.headers.get("HX-Request"):
        context = _board_context(
            request, filters, failed_case=None if moved else case, failed_form=None if moved else form
        )
        context["notice"] = message
        context["notice_ok"] = moved
        return render(request, "cases/lists/_board.html", context)
    (messages.success if moved else messages.error)(request, message)
    url = reverse("cases:board")
    return redirect(f"{url}?{urlencode(filters.params)}" if filters.params else url)
