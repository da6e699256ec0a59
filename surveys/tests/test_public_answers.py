"""The survey form: what it shows, what a submission stores, one answer per invitation (SUR-06) and
the input limits (SUR-11)."""

import re

import pytest
from django.conf import settings
from django.test import Client

from customers.models import Reason
from surveys.models import Answer, Question, Response
from surveys.models.response import OPEN_TEXT_MAX
from surveys.tests.test_public_support import (  # noqa: F401
    VALID_ANSWERS,
    _fresh_rate_limits,
    make_invitation,
    open_survey,
    rows_for,
)

pytestmark = pytest.mark.django_db


def _opened(client=None, **kwargs):
    client = client or Client()
    invitation, token = make_invitation(**kwargs)
    open_survey(client, token)
    return client, invitation, token


def test_the_form_shows_every_question_with_labels_fieldsets_and_the_progress_line():
    client, invitation, _token = _opened()
    response = client.get("/s/answer/")
    html = response.content.decode()
    assert response.status_code == 200
    assert response["Cache-Control"].count("no-store") == 1
    assert html.count('<fieldset class="survey-question"') == 5
    assert html.count("<legend") == 6  # five questions and the contact channel
    assert "5 questions" in html
    assert "Question 1 of 5" in html
    assert 'maxlength="5000"' in html
    assert "Dear Olivia," in html
    assert "Rita Reviewer" in html
    assert "Anna Manager" in html
    assert 'name="csrfmiddlewaretoken"' in html
    for question in invitation.survey.questions.all():
        assert question.text in html
    # every input has a label
    for input_id in re.findall(r'<(?:input|textarea)[^>]* id="([^"]+)"', html):
        assert f'for="{input_id}"' in html, input_id


def test_a_submission_stores_the_answers_the_reason_and_the_contact_consent():
    client, invitation, _token = _opened()
    response = client.post("/s/answer/", VALID_ANSWERS)
    assert response.status_code == 302
    assert response["Location"] == "/s/answer/"
    stored = Response.objects.get(invitation=invitation)
    assert stored.customer == invitation.customer
    assert stored.stated_reason == Reason.SERVICE
    assert stored.contact_consent is True
    assert stored.contact_channel == "phone"
    kinds = sorted(a.question.kind for a in stored.answers.select_related("question"))
    assert kinds == sorted(
        ["single_choice", "multiple_choice", "multiple_choice", "rating", "open_text", "contact_consent"]
    )
    assert stored.answers.get(question__kind="rating").rating == 4
    invitation.refresh_from_db()
    assert invitation.responded_at is not None

    thanks = client.get("/s/answer/")
    assert thanks.status_code == 200
    assert "Thank you, Olivia!" in thanks.content.decode()
    assert "Rita Reviewer" in thanks.content.decode()
    assert "You will hear from us about what we did with them." in thanks.content.decode()


def test_a_required_question_left_empty_is_an_error_next_to_the_field():
    client, invitation, _token = _opened()
    question = invitation.survey.questions.get(position=1)
    question.required = True
    question.save()
    response = client.post("/s/answer/", {"q4": "Only this"})
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_q1-error"' in html
    assert 'aria-describedby="id_q1-error"' in html
    assert 'aria-invalid="true"' in html
    assert "Only this" in html  # what they typed is kept
    assert rows_for(invitation) == (0, 0)


def test_an_empty_submission_is_refused():
    client, invitation, _token = _opened()
    response = client.post("/s/answer/", {})
    assert response.status_code == 400
    assert "Please answer at least one question." in response.content.decode()
    assert rows_for(invitation) == (0, 0)


def test_hostile_text_in_an_answer_is_stored_as_typed_and_shown_escaped_on_an_error_page():
    client, invitation, _token = _opened()
    hostile = "</textarea><script>alert(1)</script>{{ 7*7 }}"
    response = client.post("/s/answer/", {"q4": hostile, "q3": "9"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "<script>alert(1)</script>" not in html
    assert "&lt;/textarea&gt;&lt;script&gt;" in html
    response = client.post("/s/answer/", {"q4": hostile})
    assert response.status_code == 302
    assert Answer.objects.get(response__invitation=invitation).text == hostile


def test_sur_06_a_reopened_survey_shows_the_thanks_and_never_the_answers():
    client, invitation, token = _opened()
    secret = "My very private complaint about Bernd"
    first_thanks = client.post("/s/answer/", {**VALID_ANSWERS, "q4": secret}, follow=True)
    assert "Thank you, Olivia!" in first_thanks.content.decode()
    assert secret not in first_thanks.content.decode()
    before = rows_for(invitation)

    same_session = client.get("/s/answer/")
    new_browser = Client()
    reopened = new_browser.get(f"/s/{token}/", follow=True)
    posted_again = new_browser.post("/s/answer/", {**VALID_ANSWERS, "q4": "changed my mind"})
    outcomes = {}
    for case, response in {
        "a same session": same_session,
        "b new browser": reopened,
        "c new POST": posted_again,
    }.items():
        html = response.content.decode()
        assert response.status_code == 200
        assert "You have already answered this survey." in html
        assert secret not in html
        assert "Deliveries" not in html
        outcomes[case] = f"{response.status_code} thank-you, answers shown 0"
    assert rows_for(invitation) == before
    assert Answer.objects.filter(text="changed my mind").count() == 0
    print("SUR-06:", outcomes, "rows changed: 0")


def _post_raw(client, body: bytes, content_type="application/x-www-form-urlencoded"):
    return client.generic("POST", "/s/answer/", body, content_type=content_type)


def test_sur_11_input_limits_give_400_with_a_field_error_and_store_nothing_but_emoji_survive():
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 2_621_440
    assert settings.DATA_UPLOAD_MAX_NUMBER_FIELDS == 1000
    table = {}
    cases = {
        "open text 5,001 chars": lambda c: c.post("/s/answer/", {"q4": "x" * (OPEN_TEXT_MAX + 1)}),
        "body > 2.5 MB": lambda c: c.post("/s/answer/", {"q4": "x" * 2_700_000}),
        "> 1,000 fields": lambda c: _post_raw(c, "&".join(f"f{n}=1" for n in range(1001)).encode()),
        "invalid UTF-8": lambda c: _post_raw(c, b"q4=caf%C3%28%FF%FE"),
        "NUL byte": lambda c: c.post("/s/answer/", {"q4": "before\x00after"}),
        "question not in this survey": lambda c: c.post("/s/answer/", {"q4": "fine", "q99": "1"}),
        "option not in the question": lambda c: c.post("/s/answer/", {"q1": "42"}),
        "rating 7": lambda c: c.post("/s/answer/", {"q3": "7"}),
    }
    for case, send in cases.items():
        client, invitation, _token = _opened()
        response = send(client)
        assert response.status_code == 400, case
        if case not in ("body > 2.5 MB", "> 1,000 fields"):
            assert 'class="survey-error"' in response.content.decode() or "did not match" in response.content.decode()
        assert rows_for(invitation) == (0, 0), case
        table[case] = response.status_code

    client, invitation, _token = _opened()
    text = "Спасибо 👍🏽 — שלום עולם \u202eRTL\u202c 家"
    response = client.post("/s/answer/", {"q4": text})
    assert response.status_code == 302
    assert Answer.objects.get(response__invitation=invitation).text == text
    table["emoji / RTL"] = f"{response.status_code} (stored intact)"
    print("SUR-11: case -> status")
    for case, status in table.items():
        print(f"SUR-11:   {case:<30} {status}")


def test_a_form_page_and_a_submission_stay_within_their_query_budgets(django_assert_max_num_queries):
    client, invitation, _token = _opened()
    with django_assert_max_num_queries(6):
        assert client.get("/s/answer/").status_code == 200
    with django_assert_max_num_queries(14):
        assert client.post("/s/answer/", VALID_ANSWERS).status_code == 302
    with django_assert_max_num_queries(6):  # the thanks after the submit clears a session flag
        assert client.get("/s/answer/").status_code == 200
    with django_assert_max_num_queries(3):
        assert client.get("/s/answer/").status_code == 200


def test_a_single_choice_answer_without_a_reason_leaves_the_stated_reason_empty():
    client, invitation, _token = _opened()
    option = invitation.survey.questions.get(kind=Question.Kind.SINGLE_CHOICE).options.get(position=1)
    option.reason = ""
    option.save()
    client.post("/s/answer/", {"q1": "1", "q5": "no", "q5_channel": "email"})
    stored = Response.objects.get(invitation=invitation)
    assert stored.stated_reason == ""
    assert stored.contact_consent is False
    assert stored.contact_channel == ""
