"""Creating and editing surveys through the editor: every rule with its message, positions
renumbered, new versions for surveys with answers, one survey in use per language, deletion."""

import pytest
from django.urls import reverse

from surveys.models import Answer, Question, Survey
from surveys.tests.factories import AnswerFactory, InvitationFactory, SurveyFactory


@pytest.fixture(autouse=True)
def no_default_surveys(db):
    Survey.objects.all().delete()  # the data migration's surveys; none has invitations in tests


def post_data(survey: Survey | None = None, questions: list[dict] | None = None, **fields) -> dict:
    """The POST the editor page sends: the survey fields, the question formset and each question's
    option formset. `questions` defaults to the survey's current questions."""
    if questions is None:
        questions = [
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
    data = {
        "title": survey.title if survey else "Exit survey",
        "language": survey.language if survey else "en",
        "introduction": survey.introduction if survey else "Please help us.",
        "action": "save",
        "questions-TOTAL_FORMS": str(len(questions)),
        "questions-INITIAL_FORMS": str(sum(1 for q in questions if q.get("id"))),
    }
    if survey is None or survey.is_active:
        data["is_active"] = "on"
    for index, question in enumerate(questions):
        prefix = f"questions-{index}"
        data[f"{prefix}-ORDER"] = str(question.get("order", index + 1))
        for name in ("id", "kind", "text", "help_text", "low_label", "high_label"):
            value = question.get(name)
            data[f"{prefix}-{name}"] = "" if value is None else str(value)
        if question.get("required"):
            data[f"{prefix}-required"] = "on"
        if question.get("delete"):
            data[f"{prefix}-DELETE"] = "on"
        options = question.get("options", [])
        data[f"{prefix}-options-TOTAL_FORMS"] = str(len(options))
        data[f"{prefix}-options-INITIAL_FORMS"] = str(sum(1 for o in options if o.get("id")))
        for number, option in enumerate(options):
            for name in ("id", "label", "reason"):
                value = option.get(name)
                data[f"{prefix}-options-{number}-{name}"] = "" if value is None else str(value)
    data.update(fields)
    return data


def standard_questions() -> list[dict]:
    return [
        {
            "kind": "single_choice",
            "text": "Main reason?",
            "required": True,
            "options": [{"label": "Too expensive", "reason": "price"}, {"label": "Late", "reason": "delivery"}],
        },
        {"kind": "rating", "text": "Rate us", "low_label": "Poor", "high_label": "Great"},
        {"kind": "open_text", "text": "What should we have done differently?"},
    ]


def test_an_administrator_creates_a_survey_with_questions_in_order(admin_client):
    response = admin_client.post(reverse("surveys:survey_create"), post_data(questions=standard_questions()))
    survey = Survey.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("surveys:survey_edit", args=[survey.pk])
    assert survey.is_active
    assert [(q.position, q.kind) for q in survey.questions.all()] == [
        (1, "single_choice"),
        (2, "rating"),
        (3, "open_text"),
    ]
    reason = survey.questions.get(position=1)
    assert [(o.position, o.label, o.reason) for o in reason.options.all()] == [
        (1, "Too expensive", "price"),
        (2, "Late", "delivery"),
    ]
    assert survey.questions.get(position=2).low_label == "Poor"


def _errors(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def test_a_survey_without_an_open_text_question_is_refused_with_a_clear_message(admin_client):
    questions = [q for q in standard_questions() if q["kind"] != "open_text"]
    content = _errors(admin_client.post(reverse("surveys:survey_create"), post_data(questions=questions)))
    assert "Add at least one open-text question" in content
    assert not Survey.objects.exists()


def test_a_choice_question_needs_two_options(admin_client):
    questions = standard_questions()
    questions[0]["options"] = [{"label": "Too expensive", "reason": "price"}, {"label": "", "reason": ""}]
    content = _errors(admin_client.post(reverse("surveys:survey_create"), post_data(questions=questions)))
    assert "A choice question needs at least two options." in content
    assert not Survey.objects.exists()


def test_every_single_choice_option_must_name_a_reason(admin_client):
    questions = standard_questions()
    questions[0]["options"][1]["reason"] = ""
    content = _errors(admin_client.post(reverse("surveys:survey_create"), post_data(questions=questions)))
    assert "must name a reason. Missing for: “Late”." in content
    assert not Survey.objects.exists()


def test_multiple_choice_options_need_no_reason(admin_client):
    questions = standard_questions()
    questions.append(
        {"kind": "multiple_choice", "text": "What else?", "options": [{"label": "Billing"}, {"label": "Support"}]}
    )
    admin_client.post(reverse("surveys:survey_create"), post_data(questions=questions))
    assert Survey.objects.get().questions.get(kind="multiple_choice").options.count() == 2


def test_a_rating_needs_both_labels(admin_client):
    questions = standard_questions()
    questions[1]["high_label"] = ""
    content = _errors(admin_client.post(reverse("surveys:survey_create"), post_data(questions=questions)))
    assert "A rating needs a label for 5." in content
    questions[1]["low_label"] = ""
    content = _errors(admin_client.post(reverse("surveys:survey_create"), post_data(questions=questions)))
    assert "A rating needs a label for 1." in content
    assert not Survey.objects.exists()


def test_more_than_five_questions_is_allowed_with_a_visible_warning(admin_client):
    questions = standard_questions() + [{"kind": "open_text", "text": f"More {n}?"} for n in range(3)]
    response = admin_client.post(reverse("surveys:survey_create"), post_data(questions=questions), follow=True)
    assert Survey.objects.get().questions.count() == 6
    assert "This survey has 6 questions" in response.content.decode()
    edit = admin_client.get(reverse("surveys:survey_edit", args=[Survey.objects.get().pk]))
    assert "This survey has 6 questions" in edit.content.decode()


def test_a_second_survey_in_use_for_a_language_is_refused_naming_the_one_in_use(admin_client):
    SurveyFactory(title="Current English survey", language="en")
    content = _errors(admin_client.post(reverse("surveys:survey_create"), post_data(questions=standard_questions())))
    assert "“Current English survey” is already in use for English" in content
    assert "Take the other survey out of use" in content
    assert Survey.objects.count() == 1


def test_ticking_take_the_other_out_of_use_switches_the_survey_in_use(admin_client):
    other = SurveyFactory(title="Current English survey", language="en")
    data = post_data(questions=standard_questions(), deactivate_other="on")
    admin_client.post(reverse("surveys:survey_create"), data)
    other.refresh_from_db()
    assert not other.is_active
    assert Survey.objects.get(is_active=True, language="en").pk != other.pk


def test_questions_are_reordered_by_position_numbers_and_renumbered(admin_client):
    survey = SurveyFactory(language="en")
    data = post_data(survey)
    data["questions-4-ORDER"] = "0"  # contact consent first
    data["questions-0-ORDER"] = "9"  # the reason last
    data["questions-2-DELETE"] = "on"  # the rating goes
    admin_client.post(reverse("surveys:survey_edit", args=[survey.pk]), data)
    assert [(q.position, q.kind) for q in survey.questions.all()] == [
        (1, "contact_consent"),
        (2, "multiple_choice"),
        (3, "open_text"),
        (4, "single_choice"),
    ]


def test_add_question_and_add_option_re_render_the_page_with_an_empty_row_and_save_nothing(admin_client):
    survey = SurveyFactory(language="en")
    data = post_data(survey, action="add_question")
    content = _errors(admin_client.post(reverse("surveys:survey_edit", args=[survey.pk]), data))
    assert 'name="questions-5-text"' in content
    assert 'name="questions-5-options-1-label"' in content  # a new question starts with two option rows
    data = post_data(survey)
    data["add_option"] = "questions-0"
    content = _errors(admin_client.post(reverse("surveys:survey_edit", args=[survey.pk]), data))
    assert 'name="questions-0-options-3-label"' in content
    assert survey.questions.count() == 5
    assert survey.questions.get(position=1).options.count() == 3


def test_a_new_question_typed_into_the_added_row_is_saved_last(admin_client):
    survey = SurveyFactory(language="en")
    data = post_data(survey)
    data.update(
        {
            "questions-TOTAL_FORMS": "6",
            "questions-5-ORDER": "",
            "questions-5-kind": "open_text",
            "questions-5-text": "Anything else?",
            "questions-5-options-TOTAL_FORMS": "2",
            "questions-5-options-INITIAL_FORMS": "0",
        }
    )
    admin_client.post(reverse("surveys:survey_edit", args=[survey.pk]), data)
    assert survey.questions.get(position=6).text == "Anything else?"


def test_an_untouched_added_row_is_ignored(admin_client):
    survey = SurveyFactory(language="en")
    data = post_data(survey, title="Renamed")
    data.update({"questions-TOTAL_FORMS": "6", "questions-5-kind": "open_text", "questions-5-text": ""})
    response = admin_client.post(reverse("surveys:survey_edit", args=[survey.pk]), data)
    assert response.status_code == 302
    assert survey.questions.count() == 5


def test_editing_a_survey_without_answers_changes_it_in_place(admin_client):
    survey = SurveyFactory(language="en")
    InvitationFactory(survey=survey)  # invited, not yet answered
    data = post_data(survey)
    data["questions-3-text"] = "What could we have done better?"
    admin_client.post(reverse("surveys:survey_edit", args=[survey.pk]), data)
    assert Survey.objects.count() == 1
    assert survey.questions.get(position=4).text == "What could we have done better?"


def test_changing_the_questions_of_an_answered_survey_saves_a_new_version(admin_client):
    survey = SurveyFactory(language="en", title="Exit survey")
    answer = AnswerFactory(response__invitation__survey=survey, response__survey=survey)
    data = post_data(survey)
    data["questions-3-text"] = "What could we have done better?"
    data["questions-2-DELETE"] = "on"
    response = admin_client.post(reverse("surveys:survey_edit", args=[survey.pk]), data, follow=True)
    new = Survey.objects.exclude(pk=survey.pk).get()
    survey.refresh_from_db()
    assert not survey.is_active
    assert new.is_active
    assert new.title == "Exit survey"
    assert survey.questions.count() == 5  # the old version keeps what was answered
    assert Answer.objects.get(pk=answer.pk).question.text == "What should we have done differently?"
    assert [q.kind for q in new.questions.all()] == ["single_choice", "multiple_choice", "open_text", "contact_consent"]
    assert new.questions.get(kind="open_text").text == "What could we have done better?"
    assert "saved as a new version" in response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("surveys:survey_edit", args=[new.pk])


def test_renaming_an_answered_survey_edits_it_without_a_new_version(admin_client):
    survey = SurveyFactory(language="en")
    AnswerFactory(response__invitation__survey=survey, response__survey=survey)
    admin_client.post(reverse("surveys:survey_edit", args=[survey.pk]), post_data(survey, title="Renamed"))
    assert Survey.objects.count() == 1
    survey.refresh_from_db()
    assert survey.title == "Renamed"


def test_tampered_question_ids_from_another_survey_are_not_touched(admin_client):
    survey = SurveyFactory(language="en")
    other = SurveyFactory(language="ru", is_active=False)
    foreign = other.questions.get(kind="open_text")
    data = post_data(survey)
    data["questions-3-id"] = str(foreign.pk)
    admin_client.post(reverse("surveys:survey_edit", args=[survey.pk]), data)
    foreign.refresh_from_db()
    assert foreign.survey_id == other.pk
    assert foreign.text == "What should we have done differently?"
    assert survey.questions.filter(kind="open_text").count() == 1


def test_a_survey_nobody_was_invited_with_is_deleted_after_confirmation(admin_client):
    survey = SurveyFactory(language="en")
    page = admin_client.get(reverse("surveys:survey_delete", args=[survey.pk]))
    assert "Delete the survey" in page.content.decode()
    assert Survey.objects.filter(pk=survey.pk).exists()
    response = admin_client.post(reverse("surveys:survey_delete", args=[survey.pk]))
    assert response.status_code == 302
    assert not Survey.objects.filter(pk=survey.pk).exists()
    assert not Question.objects.filter(survey_id=survey.pk).exists()


def test_deleting_a_survey_with_invitations_is_refused_with_the_reason(admin_client):
    survey = SurveyFactory(language="en")
    InvitationFactory(survey=survey)
    page = admin_client.get(reverse("surveys:survey_delete", args=[survey.pk])).content.decode()
    assert "This survey cannot be deleted." in page
    assert "Invitations were sent with this survey" in page
    assert "Delete the survey" not in page
    response = admin_client.post(reverse("surveys:survey_delete", args=[survey.pk]))
    assert response.status_code == 409
    assert Survey.objects.filter(pk=survey.pk).exists()


def test_the_service_itself_refuses_a_survey_that_breaks_a_rule():
    from django.core.exceptions import ValidationError

    from surveys.services.editor import QuestionSpec, survey_save

    with pytest.raises(ValidationError, match="open-text"):
        survey_save(
            survey=None,
            title="No open text",
            language="en",
            introduction="",
            is_active=False,
            questions=[QuestionSpec(kind="rating", text="Rate us", low_label="Poor", high_label="Great")],
        )
    assert not Survey.objects.exists()
