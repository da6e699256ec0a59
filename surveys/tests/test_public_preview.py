"""The staff preview of a survey, and who may open the public pages (everyone: no sign-in)."""

import pytest
from django.test import Client

from surveys.models import SurveySettings
from surveys.tests.factories import SurveyFactory
from surveys.tests.test_public_support import VALID_ANSWERS, _fresh_rate_limits, make_invitation  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey():
    SurveySettings.load()
    return SurveyFactory(language="ru", is_active=False, title="Помогите нам понять")


def test_anonymous_visitors_are_sent_to_sign_in_for_the_preview(client, survey):
    response = client.get(f"/surveys/{survey.pk}/preview/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("role_user", "status"), [("manager", 403), ("executive", 403), ("administrator", 200)], indirect=["role_user"]
)
def test_only_administrators_may_preview_a_survey(client, survey, role_user, status):
    client.force_login(role_user)
    assert client.get(f"/surveys/{survey.pk}/preview/").status_code == status


def test_the_preview_is_the_customers_page_with_a_banner_and_a_form_that_cannot_submit(admin_client, survey):
    invitation, _token = make_invitation(language="ru")
    customer_client = Client()
    customer_client.get(f"/s/{_token}/")
    customer_page = customer_client.get("/s/answer/").content.decode()

    response = admin_client.get(f"/surveys/{survey.pk}/preview/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Preview" in html or "Предпросмотр" in html
    assert '<html lang="ru"' in html
    assert 'method="post"' not in html
    assert "csrfmiddlewaretoken" not in html
    assert "disabled" in html
    for question in survey.questions.all():
        assert question.text in html
    # the same building blocks as the customer's own page
    for fragment in ('class="survey-question"', 'class="survey-count"', 'href="/static/css/survey.css"'):
        assert html.count(fragment) == customer_page.count(fragment), fragment
    assert "navbar" not in html  # no staff navigation
    assert "no-store" in response["Cache-Control"]


def test_a_missing_survey_is_a_404_in_the_preview(admin_client):
    assert admin_client.get("/surveys/999999/preview/").status_code == 404


def test_the_preview_stays_within_its_query_budget(admin_client, survey, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        assert admin_client.get(f"/surveys/{survey.pk}/preview/").status_code == 200


@pytest.mark.parametrize("role_user", ["manager", "executive", "administrator"], indirect=True)
def test_the_public_pages_behave_the_same_for_every_role(client, role_user):
    """Signed-in staff are treated as any visitor: the token and the session decide, not the role."""
    invitation, token = make_invitation()
    client.force_login(role_user)
    assert client.get(f"/s/{token}/").status_code == 302
    assert client.get("/s/answer/").status_code == 200
    assert client.post("/s/answer/", VALID_ANSWERS).status_code == 302
    assert client.get("/s/answer/").status_code == 200
    assert client.get("/s/not-a-real-token/").status_code == 404


def test_anonymous_visitors_reach_the_public_pages_without_signing_in():
    invitation, token = make_invitation()
    client = Client()
    assert client.get(f"/s/{token}/").status_code == 302
    assert client.get("/s/answer/").status_code == 200
    assert Client().get("/s/answer/").status_code == 404  # no session: "open the link from your email"
    assert "Please open the link from your email" in Client().get("/s/answer/").content.decode()
