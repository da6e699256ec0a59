"""Forms for entering customers and interactions by hand."""

import datetime as dt
import zoneinfo

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Customer, Interaction, Segment
from winback.roles import Role

User = get_user_model()

SUMMARY_MAX_LENGTH = 5000
FUTURE_TOLERANCE = dt.timedelta(days=1)


def account_managers():
    """Active members of the Account managers group: who may look after customers."""
    return User.objects.filter(is_active=True, groups__name=Role.ACCOUNT_MANAGER.value).order_by(
        "first_name", "last_name", "username"
    )


def active_staff():
    """Active users with a role: who may be responsible for answering a customer."""
    return (
        User.objects.filter(Q(groups__name__in=Role.values) | Q(is_superuser=True), is_active=True)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Shows a service's ValidationError on the form: on the field it names when the form has
    that field, above the form otherwise."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error)


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user) -> str:
        return user.get_full_name() or user.username


class BusinessDateTimeField(forms.DateTimeField):
    """A `datetime-local` input read and shown in the business time zone (settings.TIME_ZONE),
    whatever time zone happens to be active."""

    input_format = "%Y-%m-%dT%H:%M"

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.DateTimeInput(attrs={"type": "datetime-local"}, format=self.input_format))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, dt.datetime) and timezone.is_aware(value):
            return timezone.make_naive(value, zoneinfo.ZoneInfo(settings.TIME_ZONE))
        return value

    def to_python(self, value):
        with timezone.override(settings.TIME_ZONE):
            return super().to_python(value)


class CustomerDetailsForm(forms.Form):
    """Name and contact details; administrators also get the account manager."""

    name = forms.CharField(label=_("Name"), max_length=200)
    email = forms.EmailField(label=_("Email"), max_length=254, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=50, required=False)
    company = forms.CharField(label=_("Company"), max_length=200, required=False)
    segment = forms.ModelChoiceField(label=_("Segment"), queryset=Segment.objects.all(), required=False)
    language = forms.ChoiceField(
        label=_("Language"),
        choices=settings.LANGUAGES,
        initial=settings.LANGUAGE_CODE,
        help_text=_("Surveys and emails are sent in this language."),
    )
    account_manager = StaffChoiceField(
        label=_("Account manager"), queryset=User.objects.none(), required=False, empty_label=_("Nobody yet")
    )

    def __init__(self, *args, with_account_manager: bool = False, current_manager=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.current_manager = current_manager
        if with_account_manager:
            queryset = account_managers()
            if current_manager is not None:
                # Keep a deactivated manager selectable so saving other details does not unassign them.
                queryset = User.objects.filter(Q(pk__in=queryset.values("pk")) | Q(pk=current_manager.pk))
                queryset = queryset.order_by("first_name", "last_name", "username")
            self.fields["account_manager"].queryset = queryset
        else:
            del self.fields["account_manager"]

    def clean_account_manager(self):
        chosen = self.cleaned_data["account_manager"]
        unchanged = (chosen.pk if chosen else None) == (self.current_manager.pk if self.current_manager else None)
        if chosen is not None and not unchanged and not account_managers().filter(pk=chosen.pk).exists():
            raise forms.ValidationError(_("Choose an active account manager."))
        return chosen


class CustomerPreferencesForm(forms.Form):
    do_not_contact = forms.BooleanField(
        label=_("Do not contact"),
        required=False,
        help_text=_("Nobody calls, writes or sends surveys to this customer."),
    )
    preferred_channel = forms.ChoiceField(
        label=_("Preferred channel"), choices=Customer.Channel.choices, required=False
    )
    contact_notes = forms.CharField(
        label=_("Contact notes"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_('Dislikes and wishes, e.g. "no phone calls".'),
    )


class CustomerCreateForm(CustomerDetailsForm, CustomerPreferencesForm):
    external_id = forms.CharField(
        label=_("Customer id"),
        max_length=64,
        help_text=_("The id in your shop or billing system, exactly as written there."),
    )

    field_order = ["external_id", "name", "email", "phone", "company", "segment", "language", "account_manager"]

    def clean_external_id(self):
        # CharField strips surrounding whitespace only; leading zeros and inner characters stay.
        external_id = self.cleaned_data["external_id"]
        if Customer.objects.filter(external_id=external_id).exists():
            raise forms.ValidationError(_("A customer with this id already exists."))
        return external_id


class InteractionForm(forms.Form):
    occurred_at = BusinessDateTimeField(label=_("When"), initial=timezone.now)
    channel = forms.ChoiceField(label=_("Channel"), choices=Interaction.Channel.choices)
    kind = forms.ChoiceField(label=_("Kind"), choices=Interaction.Kind.choices)
    summary = forms.CharField(
        label=_("Summary"), max_length=SUMMARY_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 5})
    )
    owner = StaffChoiceField(label=_("Responsible employee"), queryset=User.objects.none())
    due_at = BusinessDateTimeField(
        label=_("Answer due"),
        required=False,
        help_text=_("Set a due date if the customer is waiting for an answer; leave empty if it is settled."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = active_staff()

    def clean_occurred_at(self):
        occurred_at = self.cleaned_data["occurred_at"]
        if occurred_at > timezone.now() + FUTURE_TOLERANCE:
            raise forms.ValidationError(_("This is more than a day in the future; check the date."))
        return occurred_at

    def clean(self):
        cleaned = super().clean()
        occurred_at, due_at = cleaned.get("occurred_at"), cleaned.get("due_at")
        if occurred_at and due_at and due_at < occurred_at:
            self.add_error("due_at", _("The answer cannot be due before the customer got in touch."))
        return cleaned
