"""The case lists: my queue, the unassigned pool (and taking a case from it), the administrators'
bulk reassignment, the task list and the queue's exports."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cases import exports, policy
from cases.forms.lists import BulkReassignForm
from cases.models import CaseEvent
from cases.queries import (
    PAGE_SIZE,
    CaseFilters,
    filter_choices,
    pool_cases,
    priority_page,
    queue_cases,
    sees_every_case,
    task_list,
)
from cases.selectors import case_for
from cases.services import assignment
from winback.roles import is_account_manager, is_administrator, is_executive, role_of

User = get_user_model()


def _require_role(user) -> None:
    if role_of(user) is None or not user.is_active:
        raise PermissionDenied


def _list_page(request, *, tab: str):
    _require_role(request.user)
    filters = CaseFilters.from_params(request.GET, request.user)
    cases = pool_cases if tab == "pool" else queue_cases
    page = priority_page(cases(request.user, filters), request.GET.get("page"))
    can_reassign = policy.can_reassign_cases(request.user)
    context = {
        "tab": tab,
        "page": page,
        "filters": filters,
        "choices": filter_choices(request.user),
        "sees_every_case": sees_every_case(request.user),
        "is_executive": is_executive(request.user),
        "can_take": tab == "pool" and not sees_every_case(request.user),
        "can_reassign": can_reassign,
        "reassign_form": BulkReassignForm(initial={"next": request.get_full_path()}) if can_reassign else None,
        "query_string": urlencode(filters.params),
    }
    return render(request, "cases/lists/queue.html", context)


@require_GET
@login_required
def queue(request):
    """My queue: the open cases the user owns or follows (all of them for administrators and
    executives), overdue first, then by the revenue at stake."""
    return _list_page(request, tab="queue")


@require_GET
@login_required
def pool(request):
    """The unassigned open cases, which managers may take."""
    return _list_page(request, tab="pool")


def _safe_next(value: str, default: str) -> str:
    """Only a path of our own lists: never an address elsewhere."""
    if value and value.startswith("/cases/") and not value.startswith("//"):
        return value
    return default


def _taken_from_pool_lately(pk: int) -> bool:
    """A pool case another manager took in the last hour: a manager clicking "Take" on a page
    they loaded before is told so, rather than given a 404 (the case was in the pool they see,
    so this says nothing they could not know)."""
    since = timezone.now() - dt.timedelta(hours=1)
    return CaseEvent.objects.filter(case_id=pk, kind=CaseEvent.Kind.OWNER, before__owner=None, at__gte=since).exists()


@require_POST
@login_required
def take(request, pk: int):
    """A manager takes a case from the pool (race-safe in the service)."""
    next_url = _safe_next(request.POST.get("next", ""), reverse("cases:pool"))
    manager = is_account_manager(request.user) and request.user.is_active
    already_taken = _("Someone else has already taken this case.")
    try:
        case = case_for(request.user, pk)
    except Http404:
        if manager and _taken_from_pool_lately(pk):
            messages.error(request, already_taken)
            return redirect(next_url)
        raise
    if not policy.can_take_case(request.user, case):
        if manager and case.owner_id is not None:
            messages.error(request, already_taken if case.owner_id != request.user.pk else _("This case is yours."))
            return redirect(next_url)
        raise PermissionDenied
    try:
        assignment.case_take(case_id=case.pk, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(next_url)
    messages.success(request, _("The case of %(name)s is yours now.") % {"name": case.customer.name})
    return redirect("cases:queue")


@require_POST
@login_required
def bulk_reassign(request):
    if not policy.can_reassign_cases(request.user):
        raise PermissionDenied
    form = BulkReassignForm(request.POST)
    next_url = _safe_next(request.POST.get("next", ""), reverse("cases:queue"))
    if not form.is_valid():
        problems = [str(message) for errors in form.errors.values() for message in errors]
        messages.error(request, _("Nothing was reassigned: %(problems)s") % {"problems": " ".join(problems)})
        return redirect(next_url)
    owner = form.cleaned_data["owner"]
    try:
        changed = assignment.cases_bulk_reassign(case_ids=form.cleaned_data["cases"], owner=owner, actor=request.user)
    except ValidationError as error:
        messages.error(request, _("Nothing was reassigned: %(problems)s") % {"problems": " ".join(error.messages)})
        return redirect(next_url)
    messages.success(
        request,
        _("%(count)s cases reassigned to %(name)s.") % {"count": changed, "name": owner.get_full_name() or owner},
    )
    return redirect(next_url)


@require_GET
@login_required
def my_tasks(request):
    """The user's tasks by due date; administrators may look at anyone's (?assignee=)."""
    _require_role(request.user)
    assignee = request.user
    assignee_param = request.GET.get("assignee", "")
    if assignee_param and is_administrator(request.user):
        if not assignee_param.isdigit():
            raise Http404
        assignee = get_object_or_404(User, pk=int(assignee_param))
    done = request.GET.get("state", "") == "done"
    page = Paginator(task_list(request.user, assignee, done=done), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "assignee": assignee,
        "done": done,
        "assignees": (
            User.objects.filter(is_active=True, groups__isnull=False).distinct().order_by("username")
            if is_administrator(request.user)
            else None
        ),
    }
    return render(request, "cases/lists/tasks.html", context)


@require_GET
@login_required
def export(request, fmt: str):
    if not policy.can_export_cases(request.user):
        raise PermissionDenied
    if fmt not in ("csv", "xlsx"):
        raise Http404
    filters = CaseFilters.from_params(request.GET, request.user)
    if fmt == "csv":
        return exports.csv_response(request.user, filters)
    return exports.xlsx_response(request.user, filters)
