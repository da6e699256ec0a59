"""The dashboard page, its print-friendly monthly report, and the administrators' refresh button."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from winback.dashboard import charts
from winback.dashboard.figures import build_dashboard
from winback.dashboard.forms import DashboardFilterForm, filter_query
from winback.dashboard.policy import can_refresh_dashboard, can_view_dashboard
from winback.dashboard.tasks import refresh_dashboard_task
from winback.dashboard.voices import latest_voices


def _allowed(request) -> None:
    if not can_view_dashboard(request.user):
        raise PermissionDenied


def _context(request) -> dict:
    form = DashboardFilterForm(request.GET)
    filters = form.filters()
    data = build_dashboard(filters)
    query = filter_query(filters)
    return {
        "form": form,
        "data": data,
        "query": urlencode(query),
        "can_refresh": can_refresh_dashboard(request.user),
        "voices": latest_voices(filters),
        "charts": charts.chart_data(data, query),
        "drill": charts.drill_links(data, query),
    }


@login_required
@require_GET
@never_cache
def home(request):
    _allowed(request)
    return render(request, "winback/dashboard/home.html", _context(request))


@login_required
@require_GET
@never_cache
def report(request):
    _allowed(request)
    return render(request, "winback/dashboard/report.html", _context(request))


@login_required
@require_POST
def refresh(request):
    if not can_refresh_dashboard(request.user):
        raise PermissionDenied
    refresh_dashboard_task.delay(trigger=f"user {request.user.pk}")
    messages.success(
        request, _("The dashboard is being refreshed; reload the page in a minute to see the new figures.")
    )
    back = request.POST.get("query", "")
    return redirect(reverse("dashboard:home") + (f"?{back}" if back and "\n" not in back else ""))
