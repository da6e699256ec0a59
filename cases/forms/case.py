"""The case page's forms. Plain forms with explicit fields only: whatever else a POST carries
(owner, stage, outcome, created_by, created_at, customer_id …) is never read (AUTHZ-04)."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases import states
from cases.models import Activity, Offer, Stage
from cases.selectors import owner_choices
from cases.services import case_email, work
from customers.models import Fault, Reason

REASON_CHOICES = [("", "---------"), *Reason.choices]
FAULT_CHOICES = [("", "---------"), *Fault.choices]


class DateInput(forms.DateInput):
    input_type = "date"


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user) -> str:
        return work.display_name(user)


class UsersChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, user) -> str:
        return work.display_name(user)


class DistinctIds:
    """The case page holds several forms with fields of the same name (kind, notes, reason …): each
    form's ids get its own prefix so every label points at its own field."""

    id_prefix = "case"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"id_{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


class ActivityForm(DistinctIds, forms.Form):
    id_prefix = "log"
    """A call or meeting following the recovery script."""

    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[(Activity.Kind.CALL, Activity.Kind.CALL.label), (Activity.Kind.MEETING, Activity.Kind.MEETING.label)],
        initial=Activity.Kind.CALL,
    )
    apologised = forms.BooleanField(label=_("Apologised"), required=False)
    listened = forms.BooleanField(label=_("Listened"), required=False)
    diagnosed = forms.BooleanField(label=_("Diagnosed the reason"), required=False)
    helped = forms.BooleanField(label=_("Helped solve the problem now"), required=False)
    offered = forms.BooleanField(label=_("Made an offer"), required=False)
    reason = forms.ChoiceField(label=_("Reason"), choices=REASON_CHOICES, required=False)
    fault = forms.ChoiceField(label=_("Fault"), choices=FAULT_CHOICES, required=False)
    notes = forms.CharField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 4}), required=False, max_length=5000)

    def clean(self):
        data = super().clean()
        if data.get("diagnosed"):
            if not data.get("reason"):
                self.add_error("reason", _("Record the reason the customer left when you diagnosed it."))
            if not data.get("fault"):
                self.add_error("fault", _("Say whose fault it was, or “unknown”."))
        return data


class EmailForm(DistinctIds, forms.Form):
    id_prefix = "email"
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 12}), max_length=10000)
    confirm_channel = forms.BooleanField(
        label=_("I know the customer prefers another channel; send the email anyway."), required=False
    )
    message_id = forms.CharField(widget=forms.HiddenInput, max_length=200)

    def __init__(self, *args, warning: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if not warning:
            del self.fields["confirm_channel"]

    def clean_message_id(self):
        value = self.cleaned_data["message_id"]
        if not case_email.is_valid_message_id(value):
            raise ValidationError(_("The form is out of date; please open it again."))
        return value


class OfferForm(DistinctIds, forms.Form):
    id_prefix = "offer"
    kind = forms.ChoiceField(label=_("Kind"), choices=Offer.Kind.choices)
    value = forms.DecimalField(
        label=_("Value"),
        max_digits=14,
        decimal_places=2,
        help_text=_("A percentage (1–100) for a discount; an amount otherwise."),
    )
    cost = forms.DecimalField(label=_("Cost to us"), max_digits=14, decimal_places=2, min_value=0)
    expires_on = forms.DateField(label=_("Expires"), widget=DateInput)
    description = forms.CharField(label=_("Description"), max_length=300, required=False)

    def clean(self):
        data = super().clean()
        if not self.errors:
            errors = work.validate_offer(
                kind=data["kind"],
                value=data["value"],
                cost=data["cost"],
                expires_on=data["expires_on"],
                today=timezone.localdate(),
            )
            for field, message in errors.items():
                self.add_error(field, message)
        return data


class OfferDecisionForm(DistinctIds, forms.Form):
    id_prefix = "decision"
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            (Offer.Status.ACCEPTED, Offer.Status.ACCEPTED.label),
            (Offer.Status.DECLINED, Offer.Status.DECLINED.label),
        ],
    )


class TaskForm(DistinctIds, forms.Form):
    id_prefix = "task"
    title = forms.CharField(label=_("What"), max_length=200)
    assignee = UserChoiceField(label=_("Assignee"), queryset=None)
    due_on = forms.DateField(label=_("Due"), widget=DateInput)
    notes = forms.CharField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=5000)

    def __init__(self, *args, case, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = work.assignee_choices(case)

    def clean_due_on(self):
        day = self.cleaned_data["due_on"]
        if day < timezone.localdate():
            raise ValidationError(_("The due date must be today or later."))
        return day


class MoveForm(DistinctIds, forms.Form):
    id_prefix = "move"
    stage = forms.ChoiceField(label=_("Move to"))
    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000)
    reason = forms.ChoiceField(
        label=_("Reason"),
        choices=REASON_CHOICES,
        required=False,
        help_text=_("Needed for “diagnosed” unless the case has one already."),
    )
    fault = forms.ChoiceField(label=_("Fault"), choices=FAULT_CHOICES, required=False)

    def __init__(self, *args, case, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = [(stage, Stage(stage).label) for stage in states.allowed_targets(case)]


class ReasonForm(DistinctIds, forms.Form):
    id_prefix = "reason"
    reason = forms.ChoiceField(label=_("Reason"), choices=Reason.choices)
    fault = forms.ChoiceField(label=_("Fault"), choices=Fault.choices, initial=Fault.UNKNOWN)


class ReassignForm(DistinctIds, forms.Form):
    id_prefix = "reassign"
    owner = UserChoiceField(
        label=_("Owner"), queryset=None, required=False, empty_label=_("Nobody (the unassigned pool)")
    )
    followers = UsersChoiceField(
        label=_("Followers"), queryset=None, required=False, widget=forms.SelectMultiple(attrs={"size": 8})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owner_choices()
        self.fields["followers"].queryset = work.follower_choices()
