"""The administrators' survey editor: the surveys by language, creating and editing a survey with its
questions and options (plain form posts; "add question" and "add option" re-render the page), and
deleting a survey nobody was invited to. Settings and email templates: `editor_templates.py`."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from customers.forms import add_service_errors
from surveys import policy
from surveys.forms.editor import QUESTION_PREFIX, SurveyEditor, with_extra_row
from surveys.models import Invitation, Question, Response, Survey, SurveySettings
from surveys.services import editor as services


def require_editor(request) -> None:
    if not policy.can_edit_surveys(request.user):
        raise PermissionDenied


def preview_url(survey: Survey | None) -> str | None:
    """The customer-view preview of the survey, when that page exists."""
    if survey is None or survey.pk is None:
        return None
    try:
        return reverse("surveys:preview", args=[survey.pk])
    except NoReverseMatch:
        return None


def _count(model, field: str):
    """A correlated COUNT of the model's rows pointing at the outer survey (no row multiplication)."""
    rows = model.objects.filter(**{field: OuterRef("pk")}).order_by().values(field).annotate(n=Count("pk"))
    return Coalesce(Subquery(rows.values("n"), output_field=IntegerField()), 0)


@login_required
def survey_list(request):
    require_editor(request)
    surveys = list(
        Survey.objects.annotate(
            question_count=_count(Question, "survey"),
            response_count=_count(Response, "survey"),
            invitation_count=_count(Invitation, "survey"),
        ).order_by("language", "-is_active", "title")
    )
    by_language = [
        {
            "code": code,
            "name": name,
            "surveys": [s for s in surveys if s.language == code],
            "active": next((s for s in surveys if s.language == code and s.is_active), None),
        }
        for code, name in settings.LANGUAGES
    ]
    for survey in surveys:
        survey.preview_url = preview_url(survey)
        survey.too_long = survey.question_count > services.QUESTIONS_ADVISED
    return render(
        request,
        "surveys/editor/survey_list.html",
        {"languages": by_language, "has_surveys": bool(surveys), "default_language": _default_language()},
    )


def _default_language() -> str:
    code = SurveySettings.load().default_language
    return dict(settings.LANGUAGES).get(code, code)


@login_required
def survey_create(request):
    return _survey_form(request, survey=None)


@login_required
def survey_edit(request, pk: int):
    require_editor(request)
    return _survey_form(request, survey=get_object_or_404(Survey, pk=pk))


def _survey_form(request, *, survey: Survey | None):
    require_editor(request)
    if request.method == "POST":
        data = request.POST
        add_option = data.get("add_option", "")
        rerender = data.get("action") == "add_question" or bool(add_option)
        if data.get("action") == "add_question":
            data = with_extra_row(data, "questions")
        elif QUESTION_PREFIX.match(add_option):
            data = with_extra_row(data, f"{add_option}-options")
        editor = SurveyEditor(data, survey=survey)
        if not rerender and editor.is_valid():
            saved = _save(request, editor, survey)
            if saved is not None:
                return redirect("surveys:survey_edit", pk=saved.pk)
    else:
        editor = SurveyEditor(survey=survey)
    response_count = Response.objects.filter(survey=survey).count() if survey is not None else 0
    return render(
        request,
        "surveys/editor/survey_form.html",
        {
            "editor": editor,
            "survey": survey,
            "response_count": response_count,
            "preview_url": preview_url(survey),
            "warnings": services.survey_warnings(editor.question_count()),
            "choice_kinds": " ".join(sorted(services.CHOICE_KINDS)),
        },
    )


def _save(request, editor: SurveyEditor, survey: Survey | None) -> Survey | None:
    data = editor.survey_form.cleaned_data
    specs = editor.specs()
    try:
        result = services.survey_save(
            survey=survey,
            title=data["title"],
            language=data["language"],
            introduction=data["introduction"],
            is_active=data["is_active"],
            questions=specs,
            deactivate_other=data["deactivate_other"],
        )
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            add_service_errors(editor.survey_form, error)
        else:
            editor.survey_errors.extend(error.messages)
        return None
    if result.new_version:
        messages.info(
            request,
            _(
                "“%(title)s” already had answers, so your changes were saved as a new version. The old version "
                "keeps its questions and answers and is no longer in use."
            )
            % {"title": result.previous.title},
        )
    if result.deactivated is not None:
        messages.info(request, _("“%(title)s” is no longer in use.") % {"title": result.deactivated.title})
    messages.success(request, _("Survey “%(title)s” saved.") % {"title": result.survey.title})
    for warning in services.survey_warnings(len(specs)):
        messages.warning(request, warning)
    return result.survey


@login_required
def survey_delete(request, pk: int):
    require_editor(request)
    survey = get_object_or_404(Survey, pk=pk)
    refusal = services.delete_refusal(survey)
    if request.method == "POST" and not refusal:
        try:
            services.survey_delete(survey=survey)
        except ValidationError as error:
            refusal = " ".join(error.messages)
        else:
            messages.success(request, _("Survey “%(title)s” deleted.") % {"title": survey.title})
            return redirect("surveys:survey_list")
    if request.method == "POST" and refusal:
        messages.error(request, refusal)
    return render(
        request,
        "surveys/editor/survey_confirm_delete.html",
        {
            "survey": survey,
            "refusal": refusal,
            "question_count": survey.questions.count(),
        },
        status=409 if request.method == "POST" and refusal else 200,
    )
