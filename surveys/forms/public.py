"""The customer's survey form, built from the survey's questions. Fields are named by question
position (`q1`, `q2`, ... and `q5_channel` for the contact channel) and options are chosen by
position, so the page carries no database ids (SUR-02)."""

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from surveys.models import Question
from surveys.models.response import OPEN_TEXT_MAX

__all__ = ["CHANNEL_CHOICES", "SurveyResponseForm"]

CHANNEL_CHOICES = [("email", _("Email")), ("phone", _("Phone")), ("", _("No preference"))]
CONSENT_CHOICES = [("yes", _("Yes")), ("no", _("No"))]
RATING_CHOICES = [(str(n), str(n)) for n in range(1, 6)]
ANSWER_NAME = re.compile(r"^q\d+(_channel)?$")
UNREADABLE = {"\x00", "\ufffd"}  # NUL, and the replacement character left by invalid UTF-8


class SurveyResponseForm(forms.Form):
    def __init__(self, questions: list[Question], *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = questions
        self.rows = []
        for question in questions:
            name = f"q{question.position}"
            self.fields[name] = self._field_for(question)
            channel = None
            if question.kind == Question.Kind.CONTACT_CONSENT:
                channel = f"{name}_channel"
                self.fields[channel] = forms.ChoiceField(
                    label=_("How would you like us to contact you?"),
                    choices=CHANNEL_CHOICES,
                    required=False,
                    widget=forms.RadioSelect,
                )
            self.rows.append((question, name, channel))

    @staticmethod
    def _field_for(question: Question) -> forms.Field:
        kind = question.kind
        common = {"label": question.text, "required": question.required, "help_text": question.help_text}
        if kind == Question.Kind.SINGLE_CHOICE:
            choices = [(str(o.position), o.label) for o in question.options.all()]
            return forms.ChoiceField(choices=choices, widget=forms.RadioSelect, **common)
        if kind == Question.Kind.MULTIPLE_CHOICE:
            choices = [(str(o.position), o.label) for o in question.options.all()]
            return forms.MultipleChoiceField(choices=choices, widget=forms.CheckboxSelectMultiple, **common)
        if kind == Question.Kind.RATING:
            return forms.ChoiceField(choices=RATING_CHOICES, widget=forms.RadioSelect, **common)
        if kind == Question.Kind.CONTACT_CONSENT:
            return forms.ChoiceField(choices=CONSENT_CHOICES, widget=forms.RadioSelect, **common)
        return forms.CharField(
            max_length=OPEN_TEXT_MAX,
            widget=forms.Textarea(attrs={"rows": 5, "maxlength": OPEN_TEXT_MAX}),
            error_messages={
                "max_length": _("Please keep your answer under %(limit_value)d characters (it has %(show_value)d).")
            },
            **common,
        )

    def bound_rows(self):
        """(question, field, channel field or None) for the template, in question order."""
        return [(q, self[name], self[channel] if channel else None) for q, name, channel in self.rows]

    def clean(self):
        data = super().clean()
        for name, value in list(data.items()):
            if isinstance(value, str) and UNREADABLE & set(value):
                self.add_error(name, _("Your answer contains characters we cannot read. Please retype it."))
        if self.data:
            # An answer to a question that is not in this survey: refuse the whole submission
            # rather than store part of something we do not understand.
            unknown = [key for key in self.data if ANSWER_NAME.match(key) and key not in self.fields]
            if unknown:
                raise forms.ValidationError(
                    _("Your answers did not match this survey. Please reload the page and try again."),
                    code="unknown_question",
                )
        answered = [name for name, value in data.items() if value not in (None, "", [])]
        if not self.errors and not answered:
            raise forms.ValidationError(_("Please answer at least one question."), code="empty")
        return data
