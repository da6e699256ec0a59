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
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from cases import policy, states
from cases.forms.lists import BoardMoveForm
from cases.models import Case, Stage
from cases.queries import BOARD_CARDS, BOARD_CLOSED_DAYS, CaseFilters, board_columns, filter_choices, sees_every_case
from cases.selectors import case_for
from winback.roles import is_executive, role_of


def _board_context(request, filters: CaseFilters, *, failed_case=None, failed_form=None) -> dict:
    user = request.user
    columns = board_columns(user, filters)
    query_string = urlencode(filters.params)
    for column in columns:
        column.queue_url = reverse("cases:queue") + "?" + urlencode({**filters.params, "stage": column.stage})
        for case in column.cards:
            case.can_move = policy.can_work_case(user, case)
            if failed_case is not None and case.pk == failed_case.pk:
                case.move_form = failed_form
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
    }


@require_GET
@login_required
def board(request):
    if role_of(request.user) is None or not request.user.is_active:
        raise PermissionDenied
    filters = CaseFilters.from_params(request.GET, request.user)
    return render(request, "cases/lists/board.html", _board_context(request, filters))


@require_http_methods(["GET", "POST"])
@login_required
def board_move(request, pk: int):
    """Moves one card: 404 when the case is not visible, 403 when the user may not work on it;
    a refused move changes nothing and says why. A GET (a card's "Move" link) answers htmx with
    the card and its move form — the board renders a link per card rather than seventy forms —
    and sends a browser without JavaScript to the case page's move form."""
    case = case_for(request.user, pk, queryset=Case.objects.select_related("customer", "owner"))
    if not policy.can_work_case(request.user, case):
        raise PermissionDenied
    if request.method == "GET":
        if not request.headers.get("HX-Request"):
            return redirect("cases:move", pk=case.pk)
        query_string = request.GET.get("filters", "")[:1000]
        case.can_move = True
        case.move_form = BoardMoveForm(case=case, initial={"filters": query_string})
        case.move_open = True
        return render(request, "cases/lists/_card.html", {"case": case, "query_string": query_string})
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
