"""The actions on the case page. Each is a POST form on the page and also its own GET page (the
no-JS and phone fallback, and where a form with errors is shown again). A case the user may not
see is a 404; one they see but may not change is a 403 and nothing changes. Success redirects to
the case page with a message (post/redirect/get)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases import policy, states
from cases.forms.case import (
    ActivityForm,
    EmailForm,
    MoveForm,
    OfferDecisionForm,
    OfferForm,
    ReasonForm,
    ReassignForm,
    TaskForm,
)
from cases.models import Offer, Task
from cases.services import case_email, work
from cases.services.opening import open_case
from cases.services.reasons import record_reason
from cases.views.case import get_case
from customers.forms import add_service_errors
from customers.models import Customer


def _form_page(request, case, form, *, title: str, submit: str, template: str = "cases/case/action.html", **extra):
    context = {"case": case, "customer": case.customer, "form": form, "title": title, "submit": submit, **extra}
    return render(request, template, context)


def _run(form, call) -> bool:
    """Calls the service when the form is valid; a ValidationError shows on the form."""
    if not form.is_valid():
        return False
    try:
        call(form.cleaned_data)
    except ValidationError as error:
        add_service_errors(form, error)
        return False
    return True


@login_required
def case_log(request, pk: int):
    case = get_case(request, pk, work=True)
    form = ActivityForm(request.POST or None)
    if request.method == "POST" and _run(form, lambda data: work.log_activity(case=case, actor=request.user, **data)):
        messages.success(request, _("Contact logged."))
        return redirect(case)
    return _form_page(
        request, case, form, title=_("Log a call or meeting"), submit=_("Log"), template="cases/case/log.html"
    )


@login_required
def case_email_send(request, pk: int):
    case = get_case(request, pk, work=True)
    customer = case.customer
    refusal = case_email.refusal(customer)
    warning = case_email.channel_warning(customer)
    template = request.GET.get("template", case_email.DEFAULT_TEMPLATE)
    if template not in case_email.TEMPLATES:
        template = case_email.DEFAULT_TEMPLATE
    if request.method == "POST":
        form = EmailForm(request.POST, warning=warning)
        if refusal:
            messages.error(request, _("No email sent: %(why)s") % {"why": refusal})
            return redirect(case)
        sent = []
        if _run(
            form,
            lambda data: sent.append(case_email.send_case_email(case=case, actor=request.user, **data)),
        ):
            messages.success(request, _("Email to %(address)s is on its way.") % {"address": sent[0].to_email})
            return redirect(case)
    else:
        subject, body = case_email.prefill(customer, template, request.user)
        form = EmailForm(
            initial={"subject": subject, "body": body, "message_id": case_email.new_message_id()}, warning=warning
        )
    return _form_page(
        request,
        case,
        form,
        title=_("Email the customer"),
        submit=_("Send email"),
        template="cases/case/email.html",
        refusal=refusal,
        warning=warning,
        templates=list(case_email.TEMPLATE_NAMES.items()),
        current_template=template,
    )


@login_required
def offer_new(request, pk: int):
    case = get_case(request, pk, work=True)
    form = OfferForm(request.POST or None)
    if request.method == "POST" and _run(form, lambda data: work.make_offer(case=case, actor=request.user, **data)):
        messages.success(request, _("Offer recorded."))
        return redirect(case)
    return _form_page(request, case, form, title=_("Make an offer"), submit=_("Make offer"))


@login_required
def offer_decide(request, pk: int):
    case_id = Offer.objects.filter(pk=pk).values_list("case_id", flat=True).first()
    if case_id is None:
        raise Http404
    case = get_case(request, case_id, work=True)
    offer = get_object_or_404(Offer, pk=pk, case_id=case.pk)
    form = OfferDecisionForm(request.POST or None)
    if request.method == "POST" and _run(
        form, lambda data: work.decide_offer(offer=offer, actor=request.user, decision=data["decision"])
    ):
        status = Offer.Status(form.cleaned_data["decision"]).label.lower()
        messages.success(request, _("Offer marked %(status)s.") % {"status": status})
        return redirect(case)
    return _form_page(
        request,
        case,
        form,
        title=_("Decide on the offer"),
        submit=_("Save"),
        template="cases/case/offer_decide.html",
        offer=offer,
    )


@login_required
def task_new(request, pk: int):
    case = get_case(request, pk, work=True)
    form = TaskForm(request.POST or None, case=case, initial={"assignee": request.user.pk})
    if request.method == "POST" and _run(form, lambda data: work.add_task(case=case, actor=request.user, **data)):
        messages.success(request, _("Task added."))
        return redirect(case)
    return _form_page(request, case, form, title=_("Add a task"), submit=_("Add task"))


@login_required
def task_done(request, pk: int):
    task = Task.objects.select_related("case").filter(pk=pk).first()
    if task is None:
        raise Http404
    if task.assignee_id != request.user.pk:
        case = get_case(request, task.case_id)  # 404 unless visible
        task.case = case
    if not policy.can_complete_task(request.user, task):
        raise PermissionDenied
    if request.method == "POST":
        work.complete_task(task=task, actor=request.user)
        messages.success(request, _("Task done."))
        if policy.can_view_case(request.user, task.case):
            return redirect(task.case)
        return redirect("cases:my_tasks")
    return render(request, "cases/case/task_done.html", {"task": task, "case": task.case})


@login_required
def case_move(request, pk: int):
    case = get_case(request, pk, work=True)
    form = MoveForm(request.POST or None, case=case)
    if request.method == "POST" and _run(
        form,
        lambda data: states.move(
            case,
            data["stage"],
            actor=request.user,
            note=data["note"],
            reason=data["reason"],
            fault=data["fault"] or (case.fault if data["reason"] else ""),
        ),
    ):
        messages.success(request, _("Case moved."))
        return redirect(case)
    return _form_page(request, case, form, title=_("Move the case"), submit=_("Move"))


@login_required
def case_reason(request, pk: int):
    case = get_case(request, pk, work=True)
    form = ReasonForm(request.POST or None, initial={"reason": case.primary_reason, "fault": case.fault})
    if request.method == "POST" and _run(
        form, lambda data: record_reason(case, reason=data["reason"], fault=data["fault"], actor=request.user)
    ):
        messages.success(request, _("Reason recorded."))
        return redirect(case)
    return _form_page(request, case, form, title=_("Record the reason"), submit=_("Save"))


@login_required
def case_reassign(request, pk: int):
    case = get_case(request, pk)
    if not policy.can_reassign_cases(request.user):
        raise PermissionDenied
    initial = {"owner": case.owner_id, "followers": [user.pk for user in case.followers.all()]}
    form = ReassignForm(request.POST or None, initial=initial)
    if request.method == "POST" and _run(
        form,
        lambda data: work.reassign_case(
            case=case, actor=request.user, owner=data["owner"], followers=list(data["followers"])
        ),
    ):
        messages.success(request, _("Case reassigned."))
        return redirect(case)
    return _form_page(request, case, form, title=_("Reassign the case"), submit=_("Save"))


@require_POST
@login_required
def open_for_customer(request, customer_pk: int):
    customer = get_object_or_404(Customer, pk=customer_pk)
    if not policy.can_open_case(request.user):
        raise PermissionDenied
    try:
        case = open_case(customer=customer, actor=request.user)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect(customer)
    if not policy.can_view_case(request.user, case):  # opened for its account manager, another person
        messages.success(request, _("Case opened for the customer's account manager."))
        return redirect(customer)
    messages.success(request, _("Case opened."))
    return redirect(case)
