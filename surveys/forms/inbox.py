"""Forms of the reviewer inbox: the reason and fault of a response, the close-the-loop reply, the
invitation to return (one or in bulk)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import Fault, Reason

QUOTE_CHARS = 300  # the prefilled "what you told us" quote


def short_quote(text: str, limit: int = QUOTE_CHARS) -> str:
    """The start of the customer's words, cut at a word boundary, for the reply's quote."""
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut + "…"


class ReviewReasonForm(forms.Form):
    reason = forms.ChoiceField(label=_("Primary reason"), choices=Reason.choices)
    fault = forms.ChoiceField(label=_("Fault"), choices=Fault.choices, widget=forms.RadioSelect)
    note = forms.CharField(label=_("Note (optional)"), max_length=500, required=False)


class ReplyForm(forms.Form):
    """The close-the-loop reply. `message_id` is set by the preview, so the send that follows it is
    the same message and a second click sends nothing more."""

    told = forms.CharField(
        label=_("What you told us"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("A short quote of their answer, as the email will show it."),
    )
    changed = forms.CharField(
        label=_("What we changed"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("What was done about it, in plain words."),
    )
    message_id = forms.CharField(widget=forms.HiddenInput, required=False, max_length=255)


class ReturnForm(forms.Form):
    offer = forms.CharField(
        label=_("Offer"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown in the email where the template says {{ offer }}."),
    )
    message_id = forms.CharField(widget=forms.HiddenInput, required=False, max_length=255)


class BulkReturnForm(forms.Form):
    reason = forms.ChoiceField(label=_("Respondents who named"), choices=Reason.choices)
    since = forms.DateField(label=_("Answered from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("Answered until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    offer = forms.CharField(
        label=_("Offer"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown in the email where the template says {{ offer }}."),
    )
    run = forms.CharField(widget=forms.HiddenInput, required=False, max_length=32)

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end of the period is before its start."))
        return data
