from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from winback.audit.selectors import KINDS


class EntryFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("What"), required=False)
    object_id = forms.IntegerField(label=_("Object id"), required=False, min_value=1)
    actor = forms.ModelChoiceField(label=_("Who"), required=False, queryset=get_user_model().objects.none())
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("Everything"))] + [(key, label) for key, label in KINDS.items()]
        self.fields["actor"].queryset = get_user_model().objects.order_by("username")
        self.fields["actor"].empty_label = _("Anyone")
