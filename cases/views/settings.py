"""The cases settings page (administrators): the settings, the segments' own value thresholds
and the holiday list (add; remove after a confirmation)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cases import policy
from cases.forms.settings import CaseSettingsForm, HolidayForm, SegmentThresholdsForm
from cases.models import CaseSettings, Holiday, SegmentThreshold
from cases.services import case_settings as services
from customers.models import Segment


def _require_admin(request) -> None:
    if not policy.can_change_case_settings(request.user):
        raise PermissionDenied


def _thresholds_form(data=None) -> SegmentThresholdsForm:
    current = dict(SegmentThreshold.objects.values_list("segment_id", "value_threshold"))
    return SegmentThresholdsForm(data, segments=Segment.objects.order_by("name"), current=current)


def _page(request, *, settings_form=None, thresholds_form=None, holiday_form=None, status=200):
    settings = CaseSettings.load()
    context = {
        "settings_form": settings_form or CaseSettingsForm(instance=settings),
        "thresholds_form": thresholds_form or _thresholds_form(),
        "holiday_form": holiday_form or HolidayForm(),
        "holidays": Holiday.objects.order_by("day"),
    }
    return render(request, "cases/settings/settings.html", context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def settings_page(request):
    """One page, three forms: the submit button's name says which one was sent."""
    _require_admin(request)
    if request.method != "POST":
        return _page(request)
    if "save_settings" in request.POST:
        form = CaseSettingsForm(request.POST, instance=CaseSettings.load())
        if form.is_valid():
            services.settings_update(settings=form.instance, **form.cleaned_data)
            messages.success(request, _("Case settings saved."))
            return redirect("cases:settings")
        return _page(request, settings_form=form, status=400)
    if "save_thresholds" in request.POST:
        form = _thresholds_form(request.POST)
        if form.is_valid():
            services.thresholds_update(thresholds=form.thresholds())
            messages.success(request, _("Segment thresholds saved."))
            return redirect("cases:settings")
        return _page(request, thresholds_form=form, status=400)
    if "add_holiday" in request.POST:
        form = HolidayForm(request.POST)
        if form.is_valid():
            try:
                holiday = services.holiday_add(day=form.cleaned_data["day"], name=form.cleaned_data["name"])
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("%(day)s added to the holidays.") % {"day": holiday.day.isoformat()})
                return redirect("cases:settings")
        return _page(request, holiday_form=form, status=400)
    return redirect("cases:settings")


@require_POST
@login_required
def holiday_remove(request, pk: int):
    _require_admin(request)
    holiday = get_object_or_404(Holiday, pk=pk)
    services.holiday_remove(holiday_id=holiday.pk)
    messages.success(request, _("%(day)s removed from the holidays.") % {"day": holiday.day.isoformat()})
    return redirect("cases:settings")
