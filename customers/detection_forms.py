"""Forms of the detection pages: the rules of every segment at once, applying a backtest
suggestion, and dismissing a false alarm on the card."""

import datetime as dt
from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.detection.rules import DEFAULT_KEY, Rule
from customers.models import DetectionRules, DetectionSettings, Dismissal, Segment

MAX_DAYS = 3650
DISMISS_DEFAULT_DAYS = 90
NOTE_MAX_LENGTH = 2000


# Short, because the page shows six of them side by side; the page explains each once.
SHORT_LABELS = {
    "at_risk_days": _("At risk after (days)"),
    "defected_days": _("Defected after (days)"),
    "rhythm_enabled": _("Own rhythm"),
    "rhythm_multiple": _("Rhythm multiple"),
    "rate_drop_percent": _("Rate drop (%)"),
    "rate_drop_min_orders": _("Orders for rate rule"),
}


class RuleRowForm(forms.Form):
    """One segment's rules (or the defaults'). The model's own fields, validators and clean()
    decide what is valid, so the page and the service agree."""

    def __init__(self, *args, source: DetectionRules, segment_key: int, label: str, **kwargs):
        self.source, self.segment_key, self.label = source, segment_key, label
        kwargs.setdefault("initial", {name: getattr(source, name) for name in DetectionRules.RULE_FIELDS})
        super().__init__(*args, **kwargs)
        for name in DetectionRules.RULE_FIELDS:
            if name in ("at_risk_days", "defected_days"):
                field = forms.IntegerField(min_value=1, max_value=MAX_DAYS)
            else:
                field = source._meta.get_field(name).formfield()
            field.label = SHORT_LABELS[name]
            field.help_text = ""  # explained once above the rows, not on every row
            css = "form-check-input" if isinstance(field, forms.BooleanField) else "form-control form-control-sm"
            field.widget.attrs["class"] = css
            self.fields[name] = field
        self.fields["rhythm_multiple"].widget.attrs.update(step="0.1", min="1.0", max="20.0")
        self.fields["rate_drop_percent"].widget.attrs.update(min=1, max=100)
        self.fields["rate_drop_min_orders"].widget.attrs.update(min=1)

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] += " is-invalid"
                widget.attrs["aria-invalid"] = "true"
                widget.attrs["aria-describedby"] = f"{self[name].auto_id}-error"

    def clean(self):
        cleaned = super().clean()
        if all(name in cleaned for name in ("at_risk_days", "defected_days")):
            probe = DetectionSettings(**{name: cleaned.get(name) for name in DetectionRules.RULE_FIELDS})
            try:
                probe.clean()
            except ValidationError as error:
                for field, messages in error.message_dict.items():
                    self.add_error(field if field in self.fields else None, messages)
        return cleaned

    def rule(self) -> Rule:
        """The rule as the data says (valid forms only); the saved values for rows not posted."""
        values = self.cleaned_data if self.is_bound else self.initial
        return Rule(self.segment_key, *(values[name] for name in DetectionRules.RULE_FIELDS))


@dataclass
class RuleRowError:
    label: str
    field: str
    message: str


class DetectionRulesForm:
    """Every set of rules on one page: the defaults for customers without a segment first, then
    each segment by name. A segment created after the page was opened is kept as it is."""

    def __init__(self, data=None):
        self.is_bound = data is not None
        self.rows: list[RuleRowForm] = []
        sources = [(DEFAULT_KEY, DetectionSettings.load(), _("Customers without a segment"))]
        sources += [(segment.pk, segment, segment.name) for segment in Segment.objects.order_by("name")]
        for key, source, label in sources:
            prefix = f"rules-{key}"
            posted = data is not None and f"{prefix}-at_risk_days" in data
            self.rows.append(
                RuleRowForm(data if posted else None, prefix=prefix, source=source, segment_key=key, label=label)
            )

    def is_valid(self) -> bool:
        return all(row.is_valid() for row in self.rows if row.is_bound)

    def changed_rows(self) -> dict[int, dict]:
        """The posted rows' values by segment key (for services.save_rules)."""
        return {
            row.segment_key: {name: row.cleaned_data[name] for name in DetectionRules.RULE_FIELDS}
            for row in self.rows
            if row.is_bound
        }

    def rules(self) -> list[Rule]:
        return [row.rule() for row in self.rows]

    def error_list(self) -> list[RuleRowError]:
        errors = []
        for row in self.rows:
            if not row.is_bound or row.is_valid():
                continue
            for field, messages in row.errors.items():
                label = row.fields[field].label if field in row.fields else ""
                errors.extend(RuleRowError(row.label, str(label), message) for message in messages)
        return errors


class SuggestionApplyForm(forms.Form):
    """Which suggestion of which backtest to apply: the values come from the stored result."""

    backtest = forms.IntegerField(min_value=1)
    index = forms.IntegerField(min_value=0)


def default_dismiss_until() -> dt.date:
    return timezone.localdate() + dt.timedelta(days=DISMISS_DEFAULT_DAYS)


class DismissAlarmForm(forms.Form):
    kind = forms.ChoiceField(label=_("Reason"), choices=Dismissal.Kind.choices)
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why this is not a defection, e.g. \u201cbuys only before Christmas\u201d."),
    )
    until = forms.DateField(
        label=_("Do not flag again before"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Detection leaves the customer alone until this day."),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"until": default_dismiss_until()})
        super().__init__(*args, **kwargs)
