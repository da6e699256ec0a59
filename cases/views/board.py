"""The board: a column per stage with its count and money at stake, the top cards by value, and
moving a card through the state machine (cases.states.move, the same validated transition as the
case page). With htmx the answer is the board itself (the move's error shown on the card); without
JavaScript a plain POST redirects back to the board with a message."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.template.defaultfilters import urlencode as urlencode_filter
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


def _pk_url(name: str):
    """A function pk -> reverse(name, args=[pk]) that reverses once: the board builds three
    links for each of its ~70 cards."""
    marker = "2147483647"
    head, tail = reverse(name, args=[int(marker)]).rsplit(marker, 1)
    return lambda pk: f"{head}{pk}{tail}"


def _dress_card(case, user, urls, *, can_move=None):
    """What a card shows, computed once rather than looked up by the template (see _card.html)."""
    case.detail_url, case.move_url, case.move_page_url = (url(case.pk) for url in urls)
    case.overdue = case.is_overdue
    owner = case.owner
    case.owner_name = (owner.get_full_name() or owner.username) if owner is not None else ""
    case.can_move = policy.can_work_case(user, case) if can_move is None else can_move
    case.move_form = None
    case.move_open = False
    return case


def _card_urls():
    return (_pk_url("cases:detail"), _pk_url("cases:board_move"), _pk_url("cases:move"))


def _move_query(query_string: str) -> str:
    """The query string a card's "Move" link sends, so its form keeps the board's filters."""
    return f"?filters={urlencode_filter(query_string)}" if query_string else ""


def _board_context(request, filters: CaseFilters, *, failed_case=None, failed_form=None) -> dict:
    user = request.user
    columns = board_columns(user, filters)
    query_string = urlencode(filters.params)
    urls = _card_urls()
    for column in columns:
        column.queue_url = reverse("cases:queue") + "?" + urlencode({**filters.params, "stage": column.stage})
        for case in column.cards:
            _dress_card(case, user, urls)
            if failed_case is not None and case.pk == failed_case.pk:
                case.move_form = failed_form
    return {
        "columns": columns,
        "filters": filters,
        "choices": filter_choices(user),
        "sees_every_case": sees_every_case(user),
        "is_executive": is_executive(user),
        "query_string": query_string,
        "move_query": _move_query(query_string),
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
        _dress_card(case, request.user, _card_urls(), can_move=True)
        case.move_form = BoardMoveForm(case=case, initial={"filters": query_string})
        case.move_open = True
        context = {"cards": [case], "query_string": query_string, "move_query": _move_query(query_string)}
        return render(request, "cases/lists/_card.html", context)
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
