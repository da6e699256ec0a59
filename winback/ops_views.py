"""Operations pages: the administrators' Jobs page and the load balancers' readiness check."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from winback import ops
from winback.roles import is_administrator


@require_GET
@login_required
def jobs(request):
    if not is_administrator(request.user):
        raise PermissionDenied
    return render(request, "winback/jobs.html", {"board": ops.job_board()})


@never_cache
@require_GET
def healthz_ready(request):
    """200 when the database, the broker and the background jobs are fine, else 503 naming the
    failed checks. Anonymous (load balancers): the body holds check names, ages and error classes."""
    checks = ops.health_checks()
    failed = sorted(name for name, (ok, _details) in checks.items() if not ok)
    body = {
        "status": "fail" if failed else "ok",
        "failed": failed,
        "checks": {name: {"ok": ok, **details} for name, (ok, details) in checks.items()},
    }
    return JsonResponse(body, status=503 if failed else 200)
