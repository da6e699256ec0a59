"""Detection pages: the rules settings with a live preview and the latest backtest (administrators),
dismissing a false alarm from the card, and the at-risk customers list."""

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from customers import policy, selectors
from customers.detection.rules import DEFAULT_KEY, preview_counts
from customers.detection.sql import Windows
from customers.detection_forms import DetectionRulesForm, DismissAlarmForm, SuggestionApplyForm
from customers.forms import add_service_errors
from customers.models import BacktestRun, Customer, DetectionRun
from customers.services import detection_settings as settings_services
from customers.services.detection import dismiss_alarm
from winback.roles import is_account_manager

logger = logging.getLogger(__name__)

RECENT_RUNS = 10


def _require_admin(request) -> None:
    if not policy.can_change_detection_rules(request.user):
        raise PermissionDenied


def _preview(form: DetectionRulesForm) -> dict:
    """What the live preview shows: the counts under the unsaved rules, or what is wrong."""
    if not form.is_valid():
        return {"errors": form.error_list()}
    return {"counts": preview_counts(form.rules(), Windows(timezone.localdate()))}


BACKTEST_COLUMNS = ("flagged", "false_alarms", "precision", "recall", "f1")
RATIOS = {"precision", "recall", "f1"}


def _cells(figures: dict | None) -> list[str]:
    """One rule's figures as table cells: ratios with two decimals, "—" where undefined."""
    figures = figures or {}
    cells = []
    for key in BACKTEST_COLUMNS:
        value = figures.get(key)
        if value is None:
            cells.append("—")
        elif key in RATIOS:
            cells.append(f"{float(value):.2f}")
        else:
            cells.append(f"{int(value):,}")
    return cells


def _backtest_context(backtest: BacktestRun | None) -> dict:
    if backtest is None:
        return {"backtest": None}
    result = backtest.result or {}
    totals = result.get("totals") or {}
    months = [
        {
            "month": month.get("month", ""),
            "population": month.get("population"),
            "complete": month.get("complete", True),
            "cells": _cells(month.get("current")) + _cells(month.get("plain")),
        }
        for month in result.get("months", [])
    ]
    return {
        "backtest": backtest,
        "backtest_months": months,
        "backtest_incomplete": sum(1 for month in months if not month["complete"]),
        "backtest_totals": _cells(totals.get("current")) + _cells(totals.get("plain")),
        "backtest_dismissed": (totals.get("current") or {}).get("dismissed"),
        "backtest_suggestions": list(enumerate(result.get("suggestions", []))),
    }


def _settings_page(request, form: DetectionRulesForm, *, preview: dict | None = None):
    context = {
        "form": form,
        "preview": preview,
        "runs": DetectionRun.objects.order_by("-started_at", "-id")[:RECENT_RUNS],
        "default_key": DEFAULT_KEY,
        **_backtest_context(BacktestRun.objects.order_by("-created_at", "-id").first()),
    }
    return render(request, "customers/detection_settings.html", context)


@login_required
def detection_settings(request):
    _require_admin(request)
    if request.method != "POST":
        return _settings_page(request, DetectionRulesForm())
    form = DetectionRulesForm(request.POST)
    if form.is_valid():
        try:
            settings_services.save_rules(actor=request.user, rows=form.changed_rows())
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Detection rules saved. The next detection run applies them."))
            return redirect("customers:detection_settings")
    else:
        messages.error(request, _("The rules were not saved: please correct the marked fields."))
    return _settings_page(request, form, preview=_preview(form))


@require_POST
@login_required
def detection_preview(request):
    """The live preview (htmx posts the unsaved form here); without htmx the whole page, with it."""
    _require_admin(request)
    form = DetectionRulesForm(request.POST)
    preview = _preview(form)
    if request.headers.get("HX-Request"):
        return render(request, "customers/_detection_preview.html", {"preview": preview})
    return _settings_page(request, form, preview=preview)


@require_POST
@login_required
def detection_apply_suggestion(request):
    _require_admin(request)
    form = SuggestionApplyForm(request.POST)
    suggestion = None
    if form.is_valid():
        backtest = BacktestRun.objects.filter(pk=form.cleaned_data["backtest"]).first()
        suggestions = (backtest.result or {}).get("suggestions", []) if backtest else []
        if form.cleaned_data["index"] < len(suggestions):
            suggestion = suggestions[form.cleaned_data["index"]]
    if suggestion is None:
        messages.error(request, _("That suggestion no longer exists."))
        return redirect("customers:detection_settings")
    try:
        settings_services.apply_suggestion(
            actor=request.user,
            segment_key=int(suggestion["segment_key"]),
            defected_days=int(suggestion["defected_days"]),
            rhythm_enabled=bool(suggestion["rhythm_enabled"]),
            rhythm_multiple=suggestion["rhythm_multiple"],
        )
    except (ValidationError, KeyError, TypeError, ValueError) as error:
        detail = " ".join(error.messages) if isinstance(error, ValidationError) else _("it is incomplete")
        messages.error(request, _("The suggestion was not applied: %(why)s") % {"why": detail})
    else:
        messages.success(
            request,
            _("Suggestion applied to %(segment)s. The next detection run applies it.")
            % {"segment": suggestion.get("segment") or _("customers without a segment")},
        )
    return redirect("customers:detection_settings")


@require_POST
@login_required
def detection_run_now(request):
    """Starts a detection run in the background (the worker), once this request has committed."""
    _require_admin(request)
    from customers.tasks import detect_defections_task  # written alongside; imported when used

    transaction.on_commit(lambda: detect_defections_task.delay(trigger="admin"))
    messages.success(request, _("Detection run started. Reload this page in a moment to see it below."))
    return redirect("customers:detection_settings")


@login_required
def customer_dismiss(request, pk: int):
    customer = get_object_or_404(Customer.objects.select_related("account_manager"), pk=pk)
    if not policy.can_dismiss_alarm(request.user, customer):
        raise PermissionDenied
    form = DismissAlarmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            dismiss_alarm(customer=customer, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("Alarm dismissed: %(name)s is not flagged again before %(day)s.")
                % {"name": customer.name, "day": form.cleaned_data["until"].isoformat()},
            )
            return redirect(customer.get_absolute_url())
    return render(request, "customers/dismiss_form.html", {"form": form, "customer": customer})


@require_GET
@login_required
def at_risk_list(request):
    """Account managers see their own at-risk customers; executives and administrators everyone's,
    with a filter by manager."""
    if not policy.can_view_customers(request.user):
        raise PermissionDenied
    own_only = is_account_manager(request.user)
    manager = request.GET.get("manager", "")
    if own_only:
        manager = str(request.user.pk)
    elif manager != selectors.MANAGER_NONE and not (manager.isdigit() and 0 < len(manager) <= 18):
        manager = ""
    customers = selectors.at_risk_customers(manager=manager)
    page = Paginator(customers, selectors.PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    customers_on_page = list(page.object_list)
    explanations = selectors.at_risk_explanations(customers_on_page)
    rows = [
        (customer, selectors.days_since_purchase(customer, today), explanations.get(customer.pk, ""))
        for customer in customers_on_page
    ]
    context = {
        "page": page,
        "rows": rows,
        "own_only": own_only,
        "manager": manager,
        "manager_none": selectors.MANAGER_NONE,
        "managers": [] if own_only else selectors.account_manager_choices(),
    }
    return render(request, "customers/at_risk_list.html", context)
