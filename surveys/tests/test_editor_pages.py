"""The survey editor's pages: who may open them, their query budgets, what they show, and that
hostile titles and questions are shown as text."""

import pytest
from django.urls import reverse

from surveys.models import EmailTemplate, Survey
from surveys.tests.factories import EmailTemplateFactory, InvitationFactory, ResponseFactory, SurveyFactory


@pytest.fixture
def survey(db):
    Survey.objects.update(is_active=False)  # the default surveys from the data migration
    return SurveyFactory(title="Exit survey", language="en")


def _pages(survey):
    return [
        ("get", reverse("surveys:survey_list")),
        ("get", reverse("surveys:survey_create")),
        ("get", reverse("surveys:survey_edit", args=[survey.pk])),
        ("get", reverse("surveys:survey_delete", args=[survey.pk])),
        ("get", reverse("surveys:settings")),
        ("get", reverse("surveys:email_template_list")),
        ("get", reverse("surveys:email_template_edit", args=["invitation", "en"])),
        ("post", reverse("surveys:email_template_preview", args=["invitation", "en"])),
    ]


def test_anonymous_visitors_are_sent_to_sign_in_from_every_editor_page(client, survey):
    for method, url in _pages(survey):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/"), url


@pytest.mark.parametrize("role_user", ["manager", "executive"], indirect=True)
def test_managers_and_executives_are_refused_every_editor_page(client, role_user, survey):
    client.force_login(role_user)
    for method, url in _pages(survey):
        assert getattr(client, method)(url).status_code == 403, url
    response = client.post(reverse("surveys:survey_delete", args=[survey.pk]))
    assert response.status_code == 403
    assert Survey.objects.filter(pk=survey.pk).exists()


def test_administrators_open_every_editor_page(admin_client, survey):
    for method, url in _pages(survey):
        data = {"subject": "Hi", "body": "{{ survey_url }}"} if method == "post" else None
        assert getattr(admin_client, method)(url, data).status_code == 200, url


def test_the_survey_list_shows_each_language_with_state_and_counts(admin_client, survey):
    ResponseFactory(invitation__survey=survey, survey=survey)
    with_hint = SurveyFactory(title="Old survey", language="ru", is_active=False)
    response = admin_client.get(reverse("surveys:survey_list"))
    content = response.content.decode()
    assert "Exit survey" in content
    assert "Old survey" in content
    row = content[content.index(">Exit survey</a>") :]
    row = row[: row.index("</tr>")]
    assert "In use" in row
    assert '<td class="text-end">5</td>' in row  # questions
    assert '<td class="text-end">1</td>' in row  # responses
    assert reverse("surveys:survey_delete", args=[with_hint.pk]) in content
    assert reverse("surveys:survey_delete", args=[survey.pk]) not in content  # invited: kept
    assert reverse("surveys:survey_create") in content


def test_the_survey_list_shows_an_empty_state_without_surveys(admin_client, db):
    Survey.objects.all().delete()
    content = admin_client.get(reverse("surveys:survey_list")).content.decode()
    assert "No surveys yet" in content
    assert "Create the first survey" in content


def test_the_survey_list_counts_in_one_query_whatever_the_number_of_surveys(
    admin_client, survey, django_assert_max_num_queries
):
    for language in ("ru", "bg", "pl"):
        SurveyFactory(language=language, is_active=False)
    InvitationFactory(survey=survey)
    admin_client.get(reverse("surveys:survey_list"))
    # session, user, role, the surveys with their counts, settings, and the layout's two permission queries
    with django_assert_max_num_queries(7):
        response = admin_client.get(reverse("surveys:survey_list"))
    assert response.status_code == 200


def test_the_editor_pages_stay_within_their_query_budgets(admin_client, survey, django_assert_max_num_queries):
    EmailTemplateFactory()
    budgets = [
        (reverse("surveys:survey_create"), 6),
        (reverse("surveys:survey_edit", args=[survey.pk]), 9),
        (reverse("surveys:survey_delete", args=[survey.pk]), 9),
        (reverse("surveys:settings"), 8),
        (reverse("surveys:email_template_list"), 7),
        (reverse("surveys:email_template_edit", args=["invitation", "en"]), 9),
    ]
    for url, budget in budgets:
        admin_client.get(url)
        with django_assert_max_num_queries(budget):
            assert admin_client.get(url).status_code == 200, url


def test_saving_a_survey_stays_within_a_query_budget(admin_client, survey, django_assert_max_num_queries):
    from surveys.tests.test_editor_surveys import post_data

    data = post_data(survey)
    data["title"] = "Renamed"
    with django_assert_max_num_queries(60):
        response = admin_client.post(reverse("surveys:survey_edit", args=[survey.pk]), data)
    assert response.status_code == 302
    survey.refresh_from_db()
    assert survey.title == "Renamed"


def test_hostile_titles_and_questions_are_shown_as_text(admin_client, survey):
    survey.title = "<script>alert('title')</script>"
    survey.save()
    question = survey.questions.get(position=1)
    question.text = "<script>alert('question')</script>"
    question.save()
    option = question.options.first()
    option.label = '<img src=x onerror="alert(1)">'
    option.save()
    for url in (
        reverse("surveys:survey_list"),
        reverse("surveys:survey_edit", args=[survey.pk]),
        reverse("surveys:survey_delete", args=[survey.pk]),
    ):
        content = admin_client.get(url).content.decode()
        assert "<script>alert(" not in content, url
        assert "&lt;script&gt;alert(" in content, url
    content = admin_client.get(reverse("surveys:survey_edit", args=[survey.pk])).content.decode()
    assert '<img src=x onerror="alert(1)">' not in content
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in content


def test_the_navigation_shows_surveys_to_administrators_only(client, manager, administrator, survey):
    client.force_login(manager)
    assert 'href="/surveys/"' not in client.get(reverse("customers:list")).content.decode()
    client.force_login(administrator)
    assert 'href="/surveys/"' in client.get(reverse("customers:list")).content.decode()


def test_the_email_template_grid_shows_which_templates_exist(admin_client, db):
    EmailTemplate.objects.all().delete()
    EmailTemplateFactory(kind="reminder", language="ru")
    content = admin_client.get(reverse("surveys:email_template_list")).content.decode()
    assert content.count("Missing: create") == len(EmailTemplate.Kind.values) * 4 - 1
    assert reverse("surveys:email_template_edit", args=["reminder", "ru"]) in content


def test_an_unknown_template_kind_or_language_is_not_found(admin_client):
    assert admin_client.get(reverse("surveys:email_template_edit", args=["nonsense", "en"])).status_code == 404
    assert admin_client.get(reverse("surveys:email_template_edit", args=["invitation", "xx"])).status_code == 404
