"""Staff report pages of the surveys app: the survey figures, the administrators' invitation list
(failures with their error), the "email invalid" mark from the customer card, and the mail
provider's tracking webhook (Anymail) that reports bounces and complaints."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Value, When
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from customers.models import Customer
from surveys import figures, policy
from surveys.models import Invitation, InvitationStatus, Survey
from surveys.services.deliverability import email_mark_invalid, email_unmark_invalid
from surveys.suppression import is_suppressed, normalise_email
from winback.logs import security_event

INVITATIONS_PER_PAGE = 50


@require_GET
@login_required
def survey_figures(request):
    if not policy.can_view_survey_figures(request.user):
        raise PermissionDenied
    period = figures.period_from_params(request.GET)
    funnel = figures.invitation_funnel(period)
    reasons = figures.reasons_by_lost_revenue(period)
    can_export = policy.can_export_answers(request.user)
    chart = {
        "labels": [str(row["label"]) for row in reasons],
        "values": [float(row["lost_revenue"]) for row in reasons],
        "counts": [row["responses"] for row in reasons],
        "currency": settings.WINBACK_CURRENCY,
        "label": _("Lost revenue"),
    }
    language_names = dict(settings.LANGUAGES)
    by_language = [
        {**row, "name": language_names.get(row["language_code"], row["language_code"])}
        for row in figures.rates_by_language(period)
    ]
    context = {
        "period": period,
        "period_kinds": figures.PERIOD_KINDS,
        "quarter_choices": figures.recent_quarters(),
        "funnel": funnel,
        "by_segment": figures.rates_by_segment(period),
        "by_language": by_language,
        "reasons": reasons,
        "chart": chart,
        "can_export": can_export,
        "surveys": list(Survey.objects.order_by("language", "title").only("pk", "title", "language"))
        if can_export
        else [],
        "reason_choices": figures.Reason.choices,
        "show_invitations": policy.can_view_invitations(request.user),
    }
    return render(request, "surveys/reports/figures.html", context)


def _require_admin(request) -> None:
    if not policy.can_view_invitations(request.user):
        raise PermissionDenied


@require_GET
@login_required
def invitation_list(request):
    """Every invitation, failures first, with attempts and the last error (administrators)."""
    _require_admin(request)
    status = request.GET.get("status", "")
    invitations = Invitation.objects.select_related("customer").only(
        "id",
        "status",
        "skip_reason",
        "attempts",
        "last_error",
        "created_at",
        "sent_at",
        "next_attempt_at",
        "language",
        "customer__id",
        "customer__name",
        "customer__external_id",
    )
    if status in InvitationStatus.values:
        invitations = invitations.filter(status=status)
    invitations = invitations.annotate(
        failed_first=Case(
            When(status=InvitationStatus.FAILED, then=Value(0)), default=Value(1), output_field=IntegerField()
        )
    ).order_by("failed_first", "-created_at", "-id")
    page = Paginator(invitations, INVITATIONS_PER_PAGE).get_page(request.GET.get("page"))
    context = {"page": page, "status": status, "statuses": InvitationStatus.choices}
    return render(request, "surveys/reports/invitation_list.html", context)


@login_required
def mark_email_invalid(request, pk: int):
    """GET asks for confirmation; POST suppresses the customer's address (reason invalid)."""
    customer = get_object_or_404(Customer, pk=pk)
    if not policy.can_mark_email_invalid(request.user, customer):
        raise PermissionDenied
    if not normalise_email(customer.email):
        messages.error(request, _("This customer has no email address."))
        return redirect(customer)
    if request.method == "POST":
        email_mark_invalid(customer=customer, actor=request.user)
        messages.success(
            request, _("The address %(email)s is marked invalid: no email goes to it.") % {"email": customer.email}
        )
        return redirect(customer)
    context = {"customer": customer, "already_suppressed": is_suppressed(customer.email)}
    return render(request, "surveys/reports/mark_email_invalid.html", context)


@require_POST
@login_required
def unmark_email_invalid(request, pk: int):
    customer = get_object_or_404(Customer, pk=pk)
    if not policy.can_undo_invalid_mark(request.user):
        raise PermissionDenied
    if email_unmark_invalid(customer=customer, actor=request.user):
        messages.success(request, _("The invalid mark is removed."))
    else:
        messages.info(request, _("The address was not marked invalid."))
    return redirect(customer)


def _anymail_tracking_view():
    """Anymail's tracking webhook view for the configured mail provider (settings.WINBACK_ESP)."""
    from anymail import urls as anymail_urls

    name = f"{settings.WINBACK_ESP}_tracking_webhook"
    for pattern in anymail_urls.urlpatterns:
        if pattern.name == name:
            return pattern.callback
    raise ImproperlyConfigured(f"WINBACK_ESP={settings.WINBACK_ESP!r} is not a mail provider Anymail knows.")


_tracking_view = _anymail_tracking_view()


@csrf_exempt
def anymail_tracking(request, *args, **kwargs):
    """The provider's webhook (no sign-in: HTTP basic auth with ANYMAIL["WEBHOOK_SECRET"]).
    Without a configured secret it does not exist (404) rather than accept anyone's events."""
    if not (getattr(settings, "ANYMAIL", {}) or {}).get("WEBHOOK_SECRET"):
        raise Http404
    from anymail.exceptions import AnymailWebhookValidationFailure

    try:
        return _tracking_view(request, *args, **kwargs)
    except AnymailWebhookValidationFailure:  # wrong credentials: Django answers 400 (PRIV-08)
        security_event("webhook_auth_failed", provider=settings.WINBACK_ESP)
        raise
