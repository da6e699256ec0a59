"""Forms of the survey editor: the survey with an ordered formset of questions, each question with
a nested formset of options; the sender/sending settings with the logo check; email templates.

`SurveyEditor` bundles the three levels and turns them into the service's QuestionSpec list; the
rules themselves are the service's (`survey_problems`), shown here next to the question they name."""

import contextlib
import re

from django import forms
from django.contrib.auth import get_user_model
from django.forms import formset_factory
from django.utils.translation import gettext_lazy as _

from customers.forms import StaffChoiceField
from customers.models import Reason
from surveys.models import EmailTemplate, Question, Survey, SurveySettings
from surveys.services import editor as services
from winback.roles import Role

User = get_user_model()

MAX_QUESTIONS = 30
MAX_OPTIONS = 20
NEW_QUESTION_OPTIONS = 2  # empty option rows a new question starts with
QUESTION_PREFIX = re.compile(r"^questions-\d{1,3}$")


class SurveyForm(forms.ModelForm):
    deactivate_other = forms.BooleanField(
        label=_("Take the other survey out of use"),
        required=False,
        help_text=_("Only one survey per language can be in use; the other one keeps its answers."),
    )

    class Meta:
        model = Survey
        fields = ["title", "language", "introduction", "is_active"]
        widgets = {"introduction": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "title": _("Shown at the top of the survey page."),
            "introduction": _("A few sincere words above the questions: why we ask and who reads the answers."),
            "is_active": _("Invitations use the survey in use for the customer's language."),
        }

    def _get_validation_exclusions(self):
        # The one-survey-in-use-per-language constraint is checked in clean(), with a message that
        # names the survey in use and the way out; the form field still checks the language itself.
        exclude = super()._get_validation_exclusions()
        exclude.add("language")
        return exclude

    def clean(self):
        data = super().clean()
        self.conflict = None
        if data.get("is_active") and data.get("language"):
            self.conflict = services.active_conflict(language=data["language"], exclude=self.instance)
            if self.conflict is not None and not data.get("deactivate_other"):
                self.add_error("is_active", services.active_conflict_message(self.conflict))
        return data


class QuestionForm(forms.Form):
    id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    # The initial kind makes an untouched extra form count as empty ("add question" rows).
    kind = forms.ChoiceField(label=_("Kind"), choices=Question.Kind.choices, initial=Question.Kind.OPEN_TEXT)
    text = forms.CharField(label=_("Question"), max_length=500)
    help_text = forms.CharField(label=_("Hint"), max_length=300, required=False)
    required = forms.BooleanField(label=_("An answer is required"), required=False)
    low_label = forms.CharField(label=_("Label for 1 (ratings)"), max_length=60, required=False)
    high_label = forms.CharField(label=_("Label for 5 (ratings)"), max_length=60, required=False)


class OptionForm(forms.Form):
    id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    label = forms.CharField(
        label=_("Option"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}),
    )
    reason = forms.ChoiceField(
        label=_("Reason"),
        choices=[("", _("— no reason —"))] + Reason.choices,
        required=False,
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )

    def clean(self):
        data = super().clean()
        if data.get("reason") and not data.get("label", "").strip() and not data.get("DELETE"):
            self.add_error("label", _("Give the option a label, or leave the row empty."))
        return data


class BaseQuestionFormSet(forms.BaseFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        form.fields["ORDER"].label = _("Position")
        form.fields["ORDER"].widget.attrs.update({"min": 1, "class": "form-control form-control-sm w-auto"})
        form.fields["DELETE"].label = _("Remove this question")


class BaseOptionFormSet(forms.BaseFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        form.fields["DELETE"].label = _("Remove")
        form.fields["DELETE"].widget.attrs["class"] = "form-check-input"


def question_formset(extra: int = 0):
    return formset_factory(
        QuestionForm,
        formset=BaseQuestionFormSet,
        extra=extra,
        can_order=True,
        can_delete=True,
        max_num=MAX_QUESTIONS,
        validate_max=True,
    )


def option_formset(extra: int = 0):
    return formset_factory(
        OptionForm, formset=BaseOptionFormSet, extra=extra, can_delete=True, max_num=MAX_OPTIONS, validate_max=True
    )


def _option_formset(data, prefix: str, initial: list[dict] | None, extra: int) -> forms.BaseFormSet:
    """Bound when the page posted this question's options, else fresh rows (a newly added question)."""
    prefix = f"{prefix}-options"
    if data is not None and f"{prefix}-TOTAL_FORMS" in data:
        return option_formset()(data, prefix=prefix)
    return option_formset(extra)(initial=initial or [], prefix=prefix)


def question_initial(survey: Survey) -> list[dict]:
    return [
        {
            "id": q.pk,
            "kind": q.kind,
            "text": q.text,
            "help_text": q.help_text,
            "required": q.required,
            "low_label": q.low_label,
            "high_label": q.high_label,
            "options": [{"id": o.pk, "label": o.label, "reason": o.reason} for o in q.options.all()],
        }
        for q in survey.questions.prefetch_related("options")
    ]


def with_extra_row(data, management_prefix: str):
    """A copy of the posted data with one more empty form in the named formset ("add" buttons)."""
    data = data.copy()
    key = f"{management_prefix}-TOTAL_FORMS"
    limit = MAX_QUESTIONS if management_prefix == "questions" else MAX_OPTIONS
    with contextlib.suppress(ValueError):
        data[key] = str(min(int(data.get(key, 0)) + 1, limit))
    return data


class SurveyEditor:
    """The survey form, its questions and each question's options, validated together."""

    def __init__(self, data=None, *, survey: Survey | None = None):
        self.survey = survey
        self.bound = data is not None
        self.survey_form = SurveyForm(data, instance=survey or Survey(language="en", is_active=False))
        self.survey_errors: list[str] = []
        if data is not None:
            self.questions = question_formset()(data, prefix="questions")
            initial = [{}] * self.questions.total_form_count()
        else:
            initial = question_initial(survey) if survey is not None else []
            extra = 0 if initial else 1
            self.questions = question_formset(extra)(
                initial=[{k: v for k, v in q.items() if k != "options"} for q in initial], prefix="questions"
            )
        for index, form in enumerate(self.questions.forms):
            options = initial[index].get("options") if index < len(initial) else None
            extra = 1 if options else NEW_QUESTION_OPTIONS
            form.options = _option_formset(data, form.prefix, options, extra)

    def is_valid(self) -> bool:
        valid = self.survey_form.is_valid() & self.questions.is_valid()
        # A question whose options were not posted (a row added by hand) simply has none.
        valid &= all(form.options.is_valid() for form in self.questions.forms if form.options.is_bound)
        if not valid:
            return False
        forms_in_order, specs = self.specs_with_forms()
        for problem in services.survey_problems(specs):
            if problem.index is None:
                self.survey_errors.append(problem.message)
            else:
                form = forms_in_order[problem.index]
                form.add_error(problem.field if problem.field in form.fields else None, problem.message)
        return not self.survey_errors and all(form.is_valid() for form in forms_in_order)

    def specs_with_forms(self) -> tuple[list, list[services.QuestionSpec]]:
        forms_in_order, specs = [], []
        for form in self.questions.ordered_forms:
            data = form.cleaned_data
            options = [
                services.OptionSpec(
                    label=o.cleaned_data["label"].strip(), reason=o.cleaned_data["reason"], id=o.cleaned_data.get("id")
                )
                for o in (form.options.forms if form.options.is_bound else [])
                if o.cleaned_data.get("label", "").strip() and not o.cleaned_data.get("DELETE")
            ]
            specs.append(
                services.QuestionSpec(
                    kind=data["kind"],
                    text=data["text"].strip(),
                    help_text=data["help_text"].strip(),
                    required=data["required"],
                    low_label=data["low_label"].strip(),
                    high_label=data["high_label"].strip(),
                    options=options,
                    id=data.get("id"),
                )
            )
            forms_in_order.append(form)
        return forms_in_order, specs

    def specs(self) -> list[services.QuestionSpec]:
        return self.specs_with_forms()[1]

    def question_count(self) -> int:
        """Questions on the page that will be kept (for the "more than five" warning)."""
        if not self.bound:
            return len([f for f in self.questions.forms if f.initial])
        count = 0
        for form in self.questions.forms:
            deleted = form.data.get(f"{form.prefix}-DELETE")
            if form.data.get(f"{form.prefix}-text", "").strip() and not deleted:
                count += 1
        return count

    @property
    def conflict(self) -> Survey | None:
        return getattr(self.survey_form, "conflict", None)


LOGO_MAX_BYTES = 512 * 1024
LOGO_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpg"),
)


def logo_type(head: bytes) -> str:
    """The file's real type from its first bytes: "png", "jpg", "webp" or ""."""
    for signature, extension in LOGO_SIGNATURES:
        if head.startswith(signature):
            return extension
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return ""


class SurveySettingsForm(forms.ModelForm):
    reviewer = StaffChoiceField(
        queryset=User.objects.none(),
        required=False,
        label=_("Impartial reviewer"),
        help_text=_(
            "Reads every response and confirms the reason. Choose someone senior who does not manage these "
            "customers. Empty: the first active executive."
        ),
    )
    executive_signer = StaffChoiceField(
        queryset=User.objects.none(),
        required=False,
        label=_("Executive who signs for top customers"),
        help_text=_(
            "Signs the invitations of customers worth at least the annual value below; the account manager "
            "signs the others."
        ),
    )
    clear_logo = forms.BooleanField(label=_("Remove the logo"), required=False)

    class Meta:
        model = SurveySettings
        fields = [
            "company_name",
            "logo",
            "from_email",
            "reply_to",
            "default_language",
            "reviewer",
            "executive_signer",
            "executive_min_annual_value",
            "quiet_period_days",
            "link_valid_days",
            "reminder_after_days",
            "invite_events_within_days",
            "send_per_minute",
        ]
        widgets = {"logo": forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/webp"})}
        help_texts = {
            "company_name": _("The sender's name in every survey email and on the survey pages."),
            "logo": _("PNG, JPEG or WebP, at most 512 KB. Shown on the survey pages and in emails."),
            "from_email": _("The address survey emails come from. Your mail provider must allow it (SPF/DKIM)."),
            "reply_to": _("Where replies go when the signer has no email address."),
            "default_language": _("Used when there is no survey or template in the customer's language."),
            "executive_min_annual_value": _("Customers worth at least this much a year get the executive's signature."),
            "quiet_period_days": _("Nobody gets a new invitation within this many days of the last one."),
            "link_valid_days": _("After this, the link shows a page offering a fresh link to the address on file."),
            "reminder_after_days": _("One reminder, never more, this many days after the invitation if unanswered."),
            "send_per_minute": _("The sending job's limit, to stay within the mail provider's limits."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        staff = (
            User.objects.filter(is_active=True, groups__name__in=Role.values)
            .distinct()
            .order_by("first_name", "last_name", "username")
        )
        self.fields["reviewer"].queryset = staff
        self.fields["reviewer"].empty_label = _("The first active executive")
        self.fields["executive_signer"].queryset = User.objects.filter(
            is_active=True, groups__name=Role.EXECUTIVE
        ).order_by("first_name", "last_name", "username")
        self.fields["executive_signer"].empty_label = _("Nobody: the account manager signs")

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if not logo or logo == self.initial.get("logo") or not hasattr(logo, "content_type"):
            return None  # no new upload
        if logo.size > LOGO_MAX_BYTES:
            raise forms.ValidationError(_("The logo is larger than 512 KB."))
        logo.seek(0)
        extension = logo_type(logo.read(16))
        logo.seek(0)
        if not extension:
            raise forms.ValidationError(_("The logo must be a PNG, JPEG or WebP image (SVG is not accepted)."))
        # Stored under the detected type's extension, so the web server never serves it as anything else.
        logo.name = f"logo.{extension}"
        return logo

    def setting_values(self) -> dict:
        return {name: value for name, value in self.cleaned_data.items() if name not in {"logo", "clear_logo"}}


class EmailTemplateForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(
        label=_("Text"),
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text=_(
            "Placeholders: {{ first_name }}, {{ name }}, {{ company_name }}, {{ signer_name }}, "
            "{{ reviewer_name }}; in invitations, reminders and new links also {{ survey_url }} (required there) "
            "and {{ link_valid_days }}; in replies {{ what_you_told_us }}, {{ what_we_changed }} and {{ reason }}; "
            "in invitations to return {{ offer }}. The unsubscribe link is added below the text automatically: "
            "you do not need {{ unsubscribe_url }}."
        ),
    )

    def __init__(self, *args, kind: str, **kwargs):
        self.kind = kind
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        if "subject" in data and "body" in data:
            problems = services.email_template_problems(kind=self.kind, subject=data["subject"], body=data["body"])
            for field, messages in problems.items():
                for message in messages:
                    self.add_error(field, message)
        return data


def email_template_kind(kind: str) -> bool:
    return kind in EmailTemplate.Kind.values
