"""Writes of the survey editor: saving a survey with its questions and options (renumbered 1..n in
one transaction, as a new version when the survey already has responses), deleting a survey, the
sender/sending settings and the email templates.

The survey rules (at least one open-text question, choices with two options or more, single-choice
options that name a reason, ratings with both labels, one survey in use per language) live here,
in `survey_problems` and `active_conflict`, so the forms show exactly what the service enforces."""

import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, ProtectedError
from django.template import Engine, TemplateSyntaxError
from django.utils.translation import gettext as _

from surveys.models import EmailTemplate, Invitation, Option, Question, Response, Survey, SurveySettings

QUESTIONS_ADVISED = 5  # DESIGN.md: about five questions; more shows a warning
CHOICE_KINDS = {Question.Kind.SINGLE_CHOICE, Question.Kind.MULTIPLE_CHOICE}
# Shifts positions out of the way before renumbering (unique per survey / per question).
POSITION_SHIFT = 10_000

# Template tags an email template may not use: they reach outside the template's own text.
FORBIDDEN_TAGS = ("load", "include", "extends", "debug", "ssi", "csrf_token")
SURVEY_URL_KINDS = {
    EmailTemplate.Kind.INVITATION,
    EmailTemplate.Kind.INVITATION_CANCELLED,
    EmailTemplate.Kind.REMINDER,
    EmailTemplate.Kind.FRESH_LINK,
}
SURVEY_URL_PATTERN = re.compile(r"\{\{\s*survey_url\s*\}\}")


@dataclass
class OptionSpec:
    label: str
    reason: str = ""
    id: int | None = None


@dataclass
class QuestionSpec:
    kind: str
    text: str
    help_text: str = ""
    required: bool = False
    low_label: str = ""
    high_label: str = ""
    options: list[OptionSpec] = field(default_factory=list)
    id: int | None = None

    def content(self) -> tuple:
        """What a respondent sees and answers; two questions with the same content are the same."""
        is_rating = self.kind == Question.Kind.RATING
        options = tuple((o.label, o.reason) for o in self.options) if self.kind in CHOICE_KINDS else ()
        return (
            self.kind,
            self.text,
            self.help_text,
            self.required,
            self.low_label if is_rating else "",
            self.high_label if is_rating else "",
            options,
        )


@dataclass
class Problem:
    """One broken rule: `index` is the question's place in the list (None: the whole survey)."""

    message: str
    index: int | None = None
    field: str | None = None


@dataclass
class SaveResult:
    survey: Survey
    new_version: bool = False
    previous: Survey | None = None
    deactivated: Survey | None = None


def survey_problems(questions: list[QuestionSpec]) -> list[Problem]:
    problems = []
    if not any(q.kind == Question.Kind.OPEN_TEXT for q in questions):
        problems.append(
            Problem(_("Add at least one open-text question: it is where customers tell us in their own words."))
        )
    for index, question in enumerate(questions):
        if question.kind in CHOICE_KINDS and len(question.options) < 2:
            problems.append(Problem(_("A choice question needs at least two options."), index, "options"))
        if question.kind == Question.Kind.SINGLE_CHOICE:
            missing = [option.label for option in question.options if not option.reason]
            if missing:
                problems.append(
                    Problem(
                        _("Each option of a single-choice question must name a reason. Missing for: %(labels)s.")
                        % {"labels": ", ".join(f"“{label}”" for label in missing)},
                        index,
                        "options",
                    )
                )
        if question.kind == Question.Kind.RATING:
            if not question.low_label.strip():
                problems.append(Problem(_("A rating needs a label for 1."), index, "low_label"))
            if not question.high_label.strip():
                problems.append(Problem(_("A rating needs a label for 5."), index, "high_label"))
    return problems


def survey_warnings(question_count: int) -> list[str]:
    if question_count > QUESTIONS_ADVISED:
        return [
            _(
                "This survey has %(count)s questions. Short surveys get more answers: about five questions "
                "is the advice."
            )
            % {"count": question_count}
        ]
    return []


def active_conflict(*, language: str, exclude: Survey | None = None) -> Survey | None:
    """The other survey in use for the language, if any."""
    others = Survey.objects.filter(language=language, is_active=True)
    if exclude is not None and exclude.pk:
        others = others.exclude(pk=exclude.pk)
    return others.first()


def has_responses(survey: Survey) -> bool:
    return survey.pk is not None and Response.objects.filter(survey=survey).exists()


def _current_specs(survey: Survey) -> list[QuestionSpec]:
    return [
        QuestionSpec(
            kind=q.kind,
            text=q.text,
            help_text=q.help_text,
            required=q.required,
            low_label=q.low_label,
            high_label=q.high_label,
            options=[OptionSpec(label=o.label, reason=o.reason, id=o.pk) for o in q.options.all()],
            id=q.pk,
        )
        for q in survey.questions.prefetch_related("options")
    ]


@transaction.atomic
def survey_save(
    *,
    survey: Survey | None,
    title: str,
    language: str,
    introduction: str,
    is_active: bool,
    questions: list[QuestionSpec],
    deactivate_other: bool = False,
) -> SaveResult:
    """Creates or updates a survey with its questions and options, positions renumbered 1..n.

    A survey that already has responses keeps its questions untouched (answers point at them):
    changed questions are saved as a new survey — a new version — and the old one is taken out
    of use. Raises ValidationError when a rule is broken or another survey is in use for the
    language and `deactivate_other` is not set."""
    problems = survey_problems(questions)
    if problems:
        raise ValidationError([p.message for p in problems])
    result = SaveResult(survey=survey)
    write_questions = True
    if survey is not None:
        survey = Survey.objects.select_for_update().get(pk=survey.pk)
        if has_responses(survey):
            unchanged = [q.content() for q in _current_specs(survey)] == [q.content() for q in questions]
            if unchanged:
                write_questions = False  # only the title, introduction or state changed
            else:
                result.previous, result.new_version = survey, True
                survey.is_active = False
                survey.save(update_fields=["is_active", "updated_at"])
                survey = None
                questions = [_without_ids(q) for q in questions]
    if is_active:
        other = active_conflict(language=language, exclude=survey)
        if other is not None:
            if not deactivate_other:
                raise ValidationError({"is_active": active_conflict_message(other)})
            other.is_active = False
            other.save(update_fields=["is_active", "updated_at"])
            result.deactivated = other
    survey = survey or Survey()
    survey.title, survey.language, survey.introduction, survey.is_active = title, language, introduction, is_active
    survey.save()
    if write_questions:
        try:
            with transaction.atomic():
                _write_questions(survey, questions)
        except ProtectedError:
            # A first response arrived while the editor was saving: keep its questions, save a version.
            return survey_save(
                survey=survey,
                title=title,
                language=language,
                introduction=introduction,
                is_active=is_active,
                questions=questions,
                deactivate_other=deactivate_other,
            )
    result.survey = survey
    return result


def active_conflict_message(other: Survey) -> str:
    return _(
        "“%(title)s” is already in use for %(language)s, and only one survey per language can be. "
        "Tick “Take the other survey out of use” to switch to this one, or leave this one not in use."
    ) % {"title": other.title, "language": other.get_language_display()}


def _without_ids(question: QuestionSpec) -> QuestionSpec:
    options = [OptionSpec(label=o.label, reason=o.reason) for o in question.options]
    return QuestionSpec(**{**question.__dict__, "id": None, "options": options})


def _write_questions(survey: Survey, questions: list[QuestionSpec]) -> None:
    existing = {q.pk: q for q in survey.questions.all()} if survey.pk else {}
    keep = {q.id for q in questions if q.id in existing}
    survey.questions.exclude(pk__in=keep).delete()
    survey.questions.update(position=F("position") + POSITION_SHIFT)
    for position, spec in enumerate(questions, start=1):
        is_rating = spec.kind == Question.Kind.RATING
        question = existing.get(spec.id) if spec.id in keep else None
        question = question or Question(survey=survey)
        question.position = position
        question.kind = spec.kind
        question.text = spec.text
        question.help_text = spec.help_text
        question.required = spec.required
        question.low_label = spec.low_label if is_rating else ""
        question.high_label = spec.high_label if is_rating else ""
        question.save()
        _write_options(question, spec.options if spec.kind in CHOICE_KINDS else [])


def _write_options(question: Question, options: list[OptionSpec]) -> None:
    existing = {o.pk: o for o in question.options.all()}
    keep = {o.id for o in options if o.id in existing}
    question.options.exclude(pk__in=keep).delete()
    question.options.update(position=F("position") + POSITION_SHIFT)
    for position, spec in enumerate(options, start=1):
        option = existing.get(spec.id) if spec.id in keep else None
        option = option or Option(question=question)
        option.position = position
        option.label = spec.label
        option.reason = spec.reason
        option.save()


def delete_refusal(survey: Survey) -> str:
    """ "" when the survey may be deleted, else why not."""
    if Invitation.objects.filter(survey=survey).exists() or Response.objects.filter(survey=survey).exists():
        return _("Invitations were sent with this survey, so it is kept for their answers. Take it out of use instead.")
    return ""


@transaction.atomic
def survey_delete(*, survey: Survey) -> None:
    """Deletes a survey nobody was invited to; raises ValidationError otherwise."""
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    refusal = delete_refusal(survey)
    if refusal:
        raise ValidationError(refusal)
    survey.delete()


@transaction.atomic
def survey_settings_update(*, values: dict, logo=None, clear_logo: bool = False) -> SurveySettings:
    """Saves the sender and sending settings. `logo` is an already validated upload."""
    settings = SurveySettings.load()
    settings = SurveySettings.objects.select_for_update().get(pk=settings.pk)
    for name, value in values.items():
        setattr(settings, name, value)
    old_logo = settings.logo.name if settings.logo else ""
    if logo is not None:
        settings.logo = logo
    elif clear_logo:
        settings.logo = ""
    settings.save()
    if old_logo and old_logo != (settings.logo.name if settings.logo else ""):
        storage = settings.logo.storage
        transaction.on_commit(lambda: storage.delete(old_logo))
    return settings


def email_template_problems(*, kind: str, subject: str, body: str) -> dict[str, list[str]]:
    """Field → messages: template syntax errors, forbidden tags, a missing {{ survey_url }}."""
    problems: dict[str, list[str]] = {}
    engine = Engine.get_default()
    for name, text in (("subject", subject), ("body", body)):
        for tag in FORBIDDEN_TAGS:
            if re.search(r"\{%\s*" + tag + r"\b", text):
                problems.setdefault(name, []).append(
                    _("The tag {%% %(tag)s %%} is not allowed in email templates.") % {"tag": tag}
                )
        try:
            engine.from_string(text)
        except TemplateSyntaxError as error:
            problems.setdefault(name, []).append(_("Template error: %(error)s") % {"error": error})
    if kind in SURVEY_URL_KINDS and not SURVEY_URL_PATTERN.search(body):
        problems.setdefault("body", []).append(
            _("This email must contain the survey link: put {{ survey_url }} in the text.")
        )
    return problems


@transaction.atomic
def email_template_save(*, kind: str, language: str, subject: str, body: str) -> EmailTemplate:
    """Creates or updates the template of the kind and language; raises ValidationError on bad syntax."""
    problems = email_template_problems(kind=kind, subject=subject, body=body)
    if problems:
        raise ValidationError(problems)
    template, _created = EmailTemplate.objects.update_or_create(
        kind=kind, language=language, defaults={"subject": subject, "body": body}
    )
    return template
