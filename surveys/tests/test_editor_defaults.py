"""The default exit surveys the data migration ships, in English, Russian, Bulgarian and Polish."""

import importlib

from django.apps import apps

from customers.models import Reason
from surveys.models import Question, Survey
from surveys.services.editor import QUESTIONS_ADVISED, survey_problems
from surveys.tests.factories import InvitationFactory

default_surveys = importlib.import_module("surveys.migrations.0002_default_surveys")


def _specs(survey):
    from surveys.forms.editor import question_initial
    from surveys.services.editor import OptionSpec, QuestionSpec

    return [
        QuestionSpec(
            **{k: v for k, v in q.items() if k not in {"options", "id"}},
            options=[OptionSpec(label=o["label"], reason=o["reason"]) for o in q["options"]],
        )
        for q in question_initial(survey)
    ]


def test_a_default_survey_is_in_use_in_each_of_the_four_languages(db):
    surveys = {s.language: s for s in Survey.objects.filter(is_active=True)}
    assert sorted(surveys) == ["bg", "en", "pl", "ru"]
    print("default surveys in use:", sorted(surveys))


def test_each_default_survey_keeps_every_editor_rule_with_about_five_questions(db):
    for survey in Survey.objects.filter(is_active=True):
        questions = list(survey.questions.all())
        assert len(questions) <= QUESTIONS_ADVISED, survey.language
        assert [q.position for q in questions] == list(range(1, len(questions) + 1))
        assert sum(q.kind == Question.Kind.OPEN_TEXT for q in questions) >= 1, survey.language
        assert {q.kind for q in questions} == set(Question.Kind.values), survey.language
        assert survey_problems(_specs(survey)) == [], survey.language
        assert survey.introduction.strip()


def test_every_single_choice_option_of_the_defaults_names_a_reason_and_every_reason_is_offered(db):
    for survey in Survey.objects.filter(is_active=True):
        main = survey.questions.get(kind=Question.Kind.SINGLE_CHOICE)
        reasons = [option.reason for option in main.options.all()]
        assert all(reasons), survey.language
        assert sorted(reasons) == sorted(Reason.values), survey.language


def test_the_defaults_do_not_ask_how_likely_the_customer_is_to_come_back(db):
    for question in Question.objects.filter(survey__is_active=True):
        text = question.text.lower()
        assert "likely" not in text
        assert "come back" not in text
        assert "return" not in text


def test_the_defaults_speak_the_language_of_their_survey(db):
    questions = {s.language: s.questions.get(kind=Question.Kind.OPEN_TEXT).text for s in Survey.objects.all()}
    assert questions["en"].startswith("In your own words")
    assert "своими словами" in questions["ru"].lower()
    assert "с ваши думи" in questions["bg"].lower()
    assert "własnymi słowami" in questions["pl"].lower()


def test_the_migration_is_reversible_and_keeps_surveys_someone_was_invited_with(db):
    english = Survey.objects.get(language="en", is_active=True)
    InvitationFactory(survey=english)
    default_surveys.delete_default_surveys(apps, None)
    assert list(Survey.objects.values_list("language", flat=True)) == ["en"]
    english.is_active = False
    english.save()
    default_surveys.create_default_surveys(apps, None)
    assert sorted(Survey.objects.filter(is_active=True).values_list("language", flat=True)) == ["bg", "pl", "ru"]
    assert Survey.objects.filter(language="en").count() == 1  # not created twice


def test_a_language_that_already_has_a_survey_in_use_gets_the_default_out_of_use(db):
    Survey.objects.all().delete()
    Survey.objects.create(title="Our own", language="ru", is_active=True)
    default_surveys.create_default_surveys(apps, None)
    russian = Survey.objects.filter(language="ru")
    assert russian.get(is_active=True).title == "Our own"
    assert russian.count() == 2
