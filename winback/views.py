"""Project-level pages: the landing redirect, health check and the friendly error pages."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseServerError
from django.shortcuts import redirect, render
from django.template import loader
from django.views.decorators.http import require_GET

from winback.logs import security_event
from winback.roles import is_executive


@login_required
def home(request):
    """Executives land on the dashboard; everyone else on the customer list."""
    if is_executive(request.user) and request.user.has_perm("winback.view_dashboard"):
        return redirect("dashboard:home")
    return redirect("customers:list")


@require_GET
def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


def permission_denied(request, exception=None):
    user = getattr(request, "user", None)
    security_event("authz_denied", user=user, status=403, method=request.method, path=request.path)
    return render(request, "403.html", status=403)


def page_not_found(request, exception=None):
    return render(request, "404.html", status=404)


def server_error(request):
    # No context processors or request data: a 500 page must never fail or leak anything.
    return HttpResponseServerError(loader.get_template("500.html").render())
