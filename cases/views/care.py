"""The health review page of intensive care: the facts since the win-back and the form that marks
the review done. For the task's assignee and whoever may work the case; a case the user may not
see is a 404, one they see but may not work a 403."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from cases import policy
from cases.care_facts import health_review_facts
from cases.models import Task
from cases.services.care_review import complete_health_review


class HealthReviewForm(forms.Form):
    notes = forms.CharField(
        label=gettext_lazy("What did the review find?"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
        required=False,
    )


@login_required
@require_http_methods(["GET", "POST"])
def care_review(request, pk: int):
    task = get_object_or_404(
        Task.objects.select_related("case__customer__account_manager", "case__owner", "assignee", "done_by"),
        pk=pk,
        kind=Task.Kind.HEALTH_REVIEW,
    )
    case = task.case
    if task.assignee_id != request.user.pk and not policy.can_view_case(request.user, case):
        raise Http404
    if not policy.can_complete_task(request.user, task):
        raise PermissionDenied
    form = HealthReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if task.done_at is None:
            complete_health_review(task=task, actor=request.user, notes=form.cleaned_data["notes"])
            messages.success(request, _("Health review marked done."))
        return redirect("cases:care_review", pk=task.pk)
    series = list(case.tasks.filter(kind=Task.Kind.HEALTH_REVIEW).select_related("done_by").order_by("due_on", "pk"))
    context = {
        "task": task,
        "case": case,
        "customer": case.customer,
        "facts": health_review_facts(case),
        "series": series,
        "form": form,
    }
    return render(request, "cases/care/review.html", context)
