"""The rescue cycle page: the cases proposed this cycle, how many the executive has taken of
their limit, and what each executive took; executives take cases here (managers and
administrators look, read-only)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cases import policy
from cases.models import CaseSettings
from cases.services import rescue as services
from winback.roles import role_of


def _may_view(user) -> bool:
    """Executives take cases here; managers and administrators look (read-only)."""
    return user.is_authenticated and user.is_active and role_of(user) is not None


@require_GET
@login_required
def rescue_page(request):
    if not _may_view(request.user):
        raise PermissionDenied
    settings = CaseSettings.load()
    cycle = services.current_cycle(settings)
    picks = services.picks_by_executive(cycle, request.user)
    can_take = policy.can_rescue(request.user)
    mine = next((taken for executive, taken in picks if executive.pk == request.user.pk), [])
    context = {
        "settings": settings,
        "cycle": cycle,
        "cycle_end": services.next_cycle_start(cycle, settings.rescue_cycle_months),
        "candidates": list(services.candidates(settings, request.user)),
        "picks": picks,
        "can_take": can_take,
        "taken_count": len(mine),
        "limit_reached": len(mine) >= settings.rescue_limit,
    }
    return render(request, "cases/rescue/rescue.html", context)


@require_POST
@login_required
def rescue_take(request, pk: int):
    if not policy.can_rescue(request.user):
        raise PermissionDenied
    if not policy.visible_cases(request.user).filter(pk=pk).exists():
        raise Http404
    try:
        pick = services.rescue_take(case_id=pk, executive=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("You own %(customer)s's case now; its manager follows it.") % {"customer": pick.case.customer.name},
        )
    return redirect("cases:rescue")
