"""Logging support contacts on the card, resolving them, and each person's open requests."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import F
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from customers import policy, services
from customers.forms import InteractionForm, active_staff, add_service_errors
from customers.models import Customer, Interaction
from winback.roles import is_account_manager


@login_required
def interaction_create(request, pk: int):
    customer = get_object_or_404(Customer.objects.select_related("account_manager"), pk=pk)
    if not policy.can_log_interaction(request.user, customer):
        raise PermissionDenied
    manager = customer.account_manager
    default_owner = manager if manager is not None and manager.is_active else request.user
    form = InteractionForm(request.POST or None, initial={"owner": default_owner})
    if request.method == "POST" and form.is_valid():
        try:
            interaction = services.interaction_create(customer=customer, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if interaction.status == Interaction.Status.OPEN:
                messages.success(request, _("Interaction logged; it awaits an answer."))
            else:
                messages.success(request, _("Interaction logged."))
            return redirect(customer.get_absolute_url())
    return render(
        request,
        "customers/interaction_form.html",
        {"form": form, "customer": customer, "time_zone": settings.TIME_ZONE},
    )


def _safe_next(request) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


@require_POST
@login_required
def interaction_resolve(request, pk: int):
    interaction = get_object_or_404(Interaction.objects.select_related("customer"), pk=pk)
    if not policy.can_resolve_interaction(request.user, interaction):
        raise PermissionDenied
    was_open = interaction.status == Interaction.Status.OPEN
    services.interaction_resolve(interaction=interaction, actor=request.user)
    if was_open:
        messages.success(request, _("Marked as answered."))
    return redirect(_safe_next(request) or interaction.customer.get_absolute_url())


def _requested_owner(request, choices) -> object:
    """Whose open requests to show: managers always their own; executives and administrators
    may read anyone's with ?owner=<id>."""
    if is_account_manager(request.user):
        return request.user
    wanted = request.GET.get("owner", "")
    if wanted.isdigit():
        for user in choices:
            if user.pk == int(wanted):
                return user
    return request.user


@login_required
def open_requests(request):
    may_pick = not is_account_manager(request.user)
    choices = list(active_staff()) if may_pick else []
    owner = _requested_owner(request, choices)
    requests = (
        Interaction.objects.awaiting_answer()
        .filter(owner=owner)
        .select_related("customer")
        # Overdue requests have the earliest due dates, so they come first; then the oldest.
        .order_by(F("due_at").asc(nulls_last=True), "occurred_at", "id")
    )
    page = Paginator(requests, 50).get_page(request.GET.get("page"))
    now = timezone.now()
    rows = [
        (interaction, interaction.is_overdue(now), policy.can_resolve_interaction(request.user, interaction))
        for interaction in page
    ]
    return render(
        request,
        "customers/open_requests.html",
        {
            "page": page,
            "rows": rows,
            "owner": owner,
            "owner_choices": choices,
            "may_pick_owner": may_pick,
        },
    )
