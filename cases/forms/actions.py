"""Forms of the corrective actions: the action itself, the list's filters, and the
close-the-loop confirm step."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import CorrectiveAction
from cases.services.actions import RECENT_DAYS
from customers.models import Reason
from surveys.models import ResponseReply


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user) -> str:
        return user.get_full_name() or user.get_username()


def active_staff():
    from django.contrib.auth import get_user_model

    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name__isnull=False)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


class ActionForm(forms.ModelForm):
    owner = StaffChoiceField(label=_("Owner"), queryset=active_staff(), required=False)
    link_recent = forms.BooleanField(
        label=_("Link every open or recent defection citing this reason"),
        required=False,
        help_text=_("Defections that are open, or were detected in the last %(days)s days, whose reason is this one.")
        % {"days": RECENT_DAYS},
    )

    class Meta:
        model = CorrectiveAction
        fields = ["title", "description", "reason", "owner", "department", "deadline", "status"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "deadline": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = active_staff()
        self.fields["title"].error_messages["required"] = _("Give the action a title.")
        self.fields["deadline"].error_messages["required"] = _("Set a deadline.")
        self.fields["reason"].error_messages["required"] = _("Choose the reason this action fixes.")

    def clean_deadline(self):
        deadline = self.cleaned_data["deadline"]
        unchanged = self.instance.pk is not None and deadline == self.instance.deadline
        if deadline < timezone.localdate() and not unchanged:
            raise forms.ValidationError(_("The deadline cannot be in the past."))
        return deadline


class ActionFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("Any status"))] + CorrectiveAction.Status.choices, required=False
    )
    reason = forms.ChoiceField(label=_("Reason"), choices=[("", _("Any reason"))] + Reason.choices, required=False)
    owner = StaffChoiceField(label=_("Owner"), queryset=active_staff(), required=False, empty_label=_("Anyone"))
    overdue = forms.BooleanField(label=_("Overdue deadline only"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = active_staff()
        for name in ("status", "reason", "owner"):
            self.fields[name].widget.attrs.update({"class": "form-select", "data-autosubmit": ""})
        self.fields["overdue"].widget.attrs["class"] = "form-check-input"

    def filter(self, queryset):
        if not self.is_valid():
            return queryset
        data = self.cleaned_data
        if data["status"]:
            queryset = queryset.filter(status=data["status"])
        if data["reason"]:
            queryset = queryset.filter(reason=data["reason"])
        if data["owner"]:
            queryset = queryset.filter(owner=data["owner"])
        if data["overdue"]:
            queryset = queryset.filter(
                deadline__lt=timezone.localdate(),
                status__in=[CorrectiveAction.Status.OPEN, CorrectiveAction.Status.IN_PROGRESS],
            )
        return queryset


class LoopForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Email"),
        choices=[
            (ResponseReply.Kind.CLOSE_LOOP, _("Tell them what we changed")),
            (ResponseReply.Kind.RETURN, _("Invite them to return")),
        ],
        widget=forms.RadioSelect,
        initial=ResponseReply.Kind.CLOSE_LOOP,
    )
    changed = forms.CharField(
        label=_("What we changed"),
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("For the close-the-loop email: what was done about it, in plain words."),
    )
    offer = forms.CharField(
        label=_("Offer"),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("For the invitation to return: shown where the template says {{ offer }}."),
    )
    run = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def clean(self):
        data = super().clean()
        if data.get("kind") == ResponseReply.Kind.CLOSE_LOOP and not (data.get("changed") or "").strip():
            self.add_error("changed", _("Say what was changed."))
        if data.get("kind") == ResponseReply.Kind.RETURN and not (data.get("offer") or "").strip():
            self.add_error("offer", _("Describe the offer."))
        return data


__all__ = ["ActionFilterForm", "ActionForm", "LoopForm", "active_staff"]
