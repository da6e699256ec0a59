"""Corrective actions: the list ranked by the lost revenue behind each, creating one from a
reason, a case or a survey answer, its page with the linked defections, editing it, and closing
the loop with the respondents once it is done (through the surveys app)."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from cases import policy
from cases.forms.actions import ActionFilterForm, ActionForm, LoopForm
from cases.models import Case, CorrectiveAction
from cases.selectors import case_for
from cases.services import actions as services
from customers.models import Reason
from surveys.models import Answer, ResponseReply

PAGE_SIZE = 50
EVENTS_PAGE_SIZE = 25


def _int(value) -> int | None:
    return int(value) if value and str(value).isdigit() else None


def filtered_actions(request) -> tuple[ActionFilterForm, object]:
    """The actions the list and the exports show, as filtered (all staff see every action)."""
    if not policy.can_view_actions(request.user):
        raise PermissionDenied
    form = ActionFilterForm(request.GET or None)
    queryset = CorrectiveAction.objects.select_related("owner").order_by("-lost_revenue", "id")
    return form, form.filter(queryset)


@require_GET
@login_required
def action_list(request):
    form, actions = filtered_actions(request)
    page = Paginator(actions, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "today": timezone.localdate(),
        "can_create": policy.can_create_action(request.user),
        "query": request.GET.urlencode(),
    }
    return render(request, "cases/actions/action_list.html", context)


def _sources(request) -> dict:
    """The case, survey answer or reason the new action starts from (?case=, ?answer=, ?reason=):
    a case the user may not see is a 404, like one that does not exist."""
    sources = {"source_case": None, "source_answer": None, "reason": ""}
    case_id, answer_id = _int(request.GET.get("case")), _int(request.GET.get("answer"))
    if request.GET.get("case") and case_id is None or request.GET.get("answer") and answer_id is None:
        raise Http404
    if case_id:
        case = case_for(request.user, case_id, queryset=_case_queryset())
        sources["source_case"] = case
        sources["reason"] = case.primary_reason or (case.event.primary_reason if case.event else "")
    if answer_id:
        answer = get_object_or_404(
            Answer.objects.select_related("response__invitation__event", "response__customer", "question"),
            pk=answer_id,
        )
        sources["source_answer"] = answer
        sources["reason"] = sources["reason"] or answer.response.stated_reason
    reason = request.GET.get("reason", "")
    if reason in Reason.values:
        sources["reason"] = reason
    return sources


def _case_queryset():
    return Case.objects.select_related("customer", "event")


@require_http_methods(["GET", "POST"])
@login_required
def action_new(request):
    if not policy.can_create_action(request.user):
        raise PermissionDenied
    sources = _sources(request)
    initial = {"reason": sources["reason"], "owner": request.user.pk, "status": CorrectiveAction.Status.OPEN}
    if sources["source_case"] is not None:
        initial["title"] = (
            _("Fix: %(reason)s") % {"reason": Reason(sources["reason"]).label} if sources["reason"] else ""
        )
    form = ActionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        action = services.action_create(
            actor=request.user,
            title=data["title"],
            description=data["description"],
            reason=data["reason"],
            owner=data["owner"],
            department=data["department"],
            deadline=data["deadline"],
            status=data["status"],
            source_case=sources["source_case"],
            source_answer=sources["source_answer"],
            link_recent=data["link_recent"],
        )
        messages.success(request, _("Corrective action created."))
        return redirect("cases:action_detail", pk=action.pk)
    context = {"form": form, "creating": True, "query": request.GET.urlencode(), **sources}
    return render(request, "cases/actions/action_form.html", context)


def _action_for(request, pk: int, *, edit: bool = False) -> CorrectiveAction:
    if not policy.can_view_actions(request.user):
        raise PermissionDenied
    action = get_object_or_404(
        CorrectiveAction.objects.select_related(
            "owner", "created_by", "source_case__customer", "source_answer__response__customer"
        ),
        pk=pk,
    )
    if edit and not policy.can_edit_action(request.user, action):
        raise PermissionDenied
    return action


@require_GET
@login_required
def action_detail(request, pk: int):
    action = _action_for(request, pk)
    events = action.events.select_related("customer").order_by("-lost_revenue", "id")
    page = Paginator(events, EVENTS_PAGE_SIZE).get_page(request.GET.get("page"))
    can_edit = policy.can_edit_action(request.user, action)
    source_case_visible = action.source_case is not None and policy.can_view_case(request.user, action.source_case)
    context = {
        "action": action,
        "page": page,
        "can_edit": can_edit,
        "offer_loop": can_edit and action.status == CorrectiveAction.Status.DONE,
        "overdue": _is_overdue(action),
        "source_case_visible": source_case_visible,
    }
    return render(request, "cases/actions/action_detail.html", context)


def _is_overdue(action: CorrectiveAction) -> bool:
    open_statuses = (CorrectiveAction.Status.OPEN, CorrectiveAction.Status.IN_PROGRESS)
    return action.status in open_statuses and action.deadline < timezone.localdate()


@require_http_methods(["GET", "POST"])
@login_required
def action_edit(request, pk: int):
    action = _action_for(request, pk, edit=True)
    form = ActionForm(request.POST or None, instance=action)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in ActionForm.Meta.fields}
        was_done = action.done_at is not None
        action = services.action_update(
            action=action, actor=request.user, link_recent=form.cleaned_data["link_recent"], **data
        )
        if action.status == CorrectiveAction.Status.DONE and not was_done:
            messages.success(request, _("Marked done. You can now tell the respondents what was changed."))
        else:
            messages.success(request, _("Corrective action saved."))
        return redirect("cases:action_detail", pk=action.pk)
    return render(request, "cases/actions/action_form.html", {"form": form, "action": action, "creating": False})


@require_http_methods(["GET", "POST"])
@login_required
def action_loop(request, pk: int):
    """Step 1 (GET): the email to send and what to say. Step 2 (POST): who will get it, who is
    refused and why, confirm. Step 3 (POST "send"): send through the surveys app, once."""
    action = _action_for(request, pk, edit=True)
    if action.status != CorrectiveAction.Status.DONE:
        messages.info(request, _("Close the loop once the action is done."))
        return redirect("cases:action_detail", pk=action.pk)
    plan = result = None
    if request.method == "POST":
        form = LoopForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            if "send" in request.POST and data["run"]:
                try:
                    result = services.loop_send(
                        action=action,
                        kind=data["kind"],
                        actor=request.user,
                        run_key=data["run"],
                        changed=data["changed"],
                        offer=data["offer"],
                    )
                except ValidationError as error:
                    form.add_error(None, error)
                else:
                    count = len(result.queued)
                    messages.success(
                        request,
                        ngettext("%(count)s email is on its way.", "%(count)s emails are on their way.", count)
                        % {"count": count},
                    )
                    return redirect("cases:action_detail", pk=action.pk)
            else:
                plan = services.loop_plan(action, data["kind"])
                form = LoopForm({**request.POST.dict(), "run": uuid.uuid4().hex})
                form.is_valid()
    else:
        form = LoopForm(initial={"changed": action.description, "kind": ResponseReply.Kind.CLOSE_LOOP})
    return render(request, "cases/actions/action_loop.html", {"action": action, "form": form, "plan": plan})
