"""Forms of the case lists: moving a card on the board and the administrators' bulk
reassignment. The move's rules live in cases.states; these forms only parse the input."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from cases.models import Stage
from cases.selectors import owner_choices
from cases.states import allowed_targets
from customers.models import Reason


class BoardMoveForm(forms.Form):
    stage = forms.ChoiceField(label=_("Move to"))
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)
    reason = forms.ChoiceField(
        label=_("Reason"),
        required=False,
        choices=[("", _("— reason (for diagnosed) —")), *Reason.choices],
    )
    # The board's filters, so the answer shows the same board.
    filters = forms.CharField(required=False, max_length=1000, widget=forms.HiddenInput)

    def __init__(self, *args, case, **kwargs):
        super().__init__(*args, **kwargs)
        self.case = case
        labels = dict(Stage.choices)
        self.fields["stage"].choices = [(stage, labels[stage]) for stage in allowed_targets(case)]
        prefix = f"move-{case.pk}"
        for name, field in self.fields.items():
            field.widget.attrs["id"] = f"{prefix}-{name}"
        self.fields["stage"].widget.attrs.update({"class": "form-select form-select-sm", "data-move-stage": ""})
        self.fields["note"].widget.attrs.update({"class": "form-control form-control-sm"})
        self.fields["reason"].widget.attrs.update({"class": "form-select form-select-sm", "data-move-reason": ""})

    def clean_stage(self):
        stage = self.cleaned_data["stage"]
        if stage not in allowed_targets(self.case):
            raise ValidationError(_("This case cannot move to that stage."))
        return stage


class CaseIdsField(forms.Field):
    """The ticked cases: a list of ids from checkboxes named like the field."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        if not value:
            return []
        if isinstance(value, str):
            value = [value]
        try:
            return sorted({int(item) for item in value})
        except (TypeError, ValueError):
            raise ValidationError(_("Choose cases from the list.")) from None


class BulkReassignForm(forms.Form):
    cases = CaseIdsField(label=_("Cases"), error_messages={"required": _("Tick at least one case.")})
    owner = forms.ModelChoiceField(
        label=_("New owner"),
        queryset=owner_choices(),
        empty_label=_("— choose the new owner —"),
        error_messages={
            "required": _("Choose the new owner."),
            "invalid_choice": _("Cases can only go to an active account manager."),
        },
    )
    confirm = forms.BooleanField(
        label=_("Yes, reassign the ticked cases"),
        error_messages={"required": _("Tick the confirmation box to reassign.")},
    )
    next = forms.CharField(required=False, max_length=1000, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].label_from_instance = lambda user: user.get_full_name() or user.username
        self.fields["owner"].widget.attrs["class"] = "form-select"
