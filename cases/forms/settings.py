"""Forms of the cases settings page: the settings row, one threshold per segment, a holiday."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from cases.models import CaseSettings, Holiday


class CaseSettingsForm(forms.ModelForm):
    class Meta:
        model = CaseSettings
        fields = [
            "open_automatically",
            "value_threshold",
            "round_robin",
            "first_contact_working_days",
            "deadline_working_days",
            "care_interval_months",
            "care_duration_months",
            "rescue_limit",
            "rescue_cycle_months",
            "rescue_candidates",
        ]

    def clean(self):
        data = super().clean()
        first, overall = data.get("first_contact_working_days"), data.get("deadline_working_days")
        if first and overall and first > overall:
            self.add_error(
                "first_contact_working_days", _("The first contact cannot be due after the case's deadline.")
            )
        interval, duration = data.get("care_interval_months"), data.get("care_duration_months")
        if interval and duration and interval > duration:
            self.add_error("care_interval_months", _("The review interval cannot be longer than intensive care."))
        return data


class SegmentThresholdsForm(forms.Form):
    """One optional threshold per segment: blank means the general threshold applies."""

    def __init__(self, *args, segments=(), current: dict[int, Decimal] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        current = current or {}
        self.segments = list(segments)
        for segment in self.segments:
            self.fields[self.field_name(segment)] = forms.DecimalField(
                label=segment.name,
                required=False,
                min_value=0,
                max_digits=14,
                decimal_places=2,
                initial=current.get(segment.pk),
                error_messages={"min_value": _("A threshold cannot be negative.")},
            )

    @staticmethod
    def field_name(segment) -> str:
        return f"segment_{segment.pk}"

    def thresholds(self) -> dict[int, Decimal | None]:
        return {segment.pk: self.cleaned_data.get(self.field_name(segment)) for segment in self.segments}

    def rows(self):
        return [(segment, self[self.field_name(segment)]) for segment in self.segments]


class HolidayForm(forms.ModelForm):
    class Meta:
        model = Holiday
        fields = ["day", "name"]
        widgets = {"day": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["day"].error_messages["required"] = _("Choose the day.")

    def validate_unique(self):
        """The service says when the day is on the list already (one message, race-safe)."""
