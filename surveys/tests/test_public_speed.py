"""What keeps the survey form fast (issue 4, bench/survey_page_bench.py) without sharing anything of
a respondent: the empty form's page rendered once per survey version and language with placeholders
for the respondent's names and CSRF token, the sender settings kept while their `updated_at`
holds, the bound link read in one query, and the rate limits counted in one Redis round trip."""

import datetime as dt
import logging
import re
import uuid

import pytest
import redis
import time_machine
from django.test import Client
from django.utils import timezone

from customers.tests.factories import CustomerFactory
from surveys import public_cache
from surveys.models import Invitation, InvitationStatus, Question, Survey, SurveySettings
from surveys.ratelimit import parse_rate, window_end
from surveys.tests.factories import DefectionEventFactory, InvitationFactory
from surveys.tests.test_public_support import (  # noqa: F401
    VALID_ANSWERS,
    _fresh_rate_limits,
    make_invitation,
    open_survey,
    rows_for,
)
from surveys.tokens import mint_link, new_token

pytestmark = pytest.mark.django_db

REDIS_URL = "redis://127.0.0.1:6379/1"
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _questions_markup(html: str) -> str:  # from the first question to the submit button
    return html[html.index('<fieldset class="survey-question"') : html.index('<div class="survey-actions">')]


def _second_respondent(survey, name="Bruno Tamm", language="en"):
    customer = CustomerFactory(name=name, language=language)
    invitation = InvitationFactory(
        event=DefectionEventFactory(customer=customer),
        customer=customer,
        survey=survey,
        language=language,
        status="sent",
        sent_at=timezone.now(),
        signer_name="Sam Signer",
        reviewer_name="Rhea Reader",
    )
    return invitation, mint_link(invitation, valid_days=30)


def _form_of(token: str) -> tuple[Client, str]:
    client = Client()
    open_survey(client, token)
    response = client.get("/s/answer/")
    assert response.status_code == 200
    return client, response.content.decode()


def test_two_respondents_share_the_question_markup_but_each_sees_only_their_own_name_and_csrf_token(
    django_assert_max_num_queries,
):
    first, first_token = make_invitation()
    second, second_token = _second_respondent(first.survey)
    _client, first_html = _form_of(first_token)
    client = Client()
    open_survey(client, second_token)
    with django_assert_max_num_queries(2):  # the session, and the link with all it needs
        second_html = client.get("/s/answer/").content.decode()
    assert _questions_markup(first_html) == _questions_markup(second_html)
    assert "Dear Olivia," in first_html
    assert "Olivia" not in second_html
    assert "Dear Bruno," in second_html
    assert "Bruno" not in first_html
    assert "Sam Signer" in second_html
    assert "Rhea Reader" in second_html
    assert "Sam Signer" not in first_html
    assert "Rhea Reader" not in first_html
    assert CSRF_INPUT.search(first_html).group(1) != CSRF_INPUT.search(second_html).group(1)


def test_the_names_filled_into_the_shared_page_are_escaped_and_its_csrf_token_is_accepted():
    invitation, token = make_invitation(name="<script>alert(1)</script> Smith")
    Invitation.objects.filter(pk=invitation.pk).update(signer_name='Ann "&" <b>Lee</b>', reviewer_name="Rita <i>R</i>")
    client = Client(enforce_csrf_checks=True)
    open_survey(client, token)
    html = client.get("/s/answer/").content.decode()
    assert "Dear &lt;script&gt;alert(1)&lt;/script&gt;," in html
    assert "With thanks, Ann &quot;&amp;&quot; &lt;b&gt;Lee&lt;/b&gt;" in html
    assert "Rita &lt;i&gt;R&lt;/i&gt;" in html
    assert "<script>alert" not in html
    assert "<b>Lee" not in html
    csrf = CSRF_INPUT.search(html).group(1)
    response = client.post("/s/answer/", {**VALID_ANSWERS, "csrfmiddlewaretoken": csrf})
    assert response.status_code == 302
    assert rows_for(invitation)[0] == 1


def test_a_respondent_without_a_first_name_or_signer_gets_no_empty_greeting():
    first, first_token = make_invitation()
    _second, second_token = _second_respondent(first.survey, name=" ")
    Invitation.objects.filter(pk=_second.pk).update(signer_name="")
    _client, first_html = _form_of(first_token)
    _client, second_html = _form_of(second_token)
    assert "Dear Olivia," in first_html
    assert "With thanks, Anna Manager" in first_html
    assert "Dear" not in second_html
    assert "With thanks" not in second_html


def test_the_question_markup_is_kept_per_language_of_the_invitation():
    english, english_token = make_invitation(language="en")
    _russian, russian_token = _second_respondent(english.survey, name="Ivan Petrov", language="ru")
    _client, english_html = _form_of(english_token)
    _client, russian_html = _form_of(russian_token)
    assert "Question 1 of 5" in english_html
    assert "Вопрос 1 из 5" in russian_html
    assert "Question 1 of 5" not in russian_html


def test_a_form_with_errors_shows_the_respondents_input_and_the_next_empty_form_does_not():
    first, first_token = make_invitation()
    _second, second_token = _second_respondent(first.survey)
    client, _html = _form_of(first_token)
    typed = "Only for my eyes " + "x" * 5000
    response = client.post("/s/answer/", {"q4": typed})
    assert response.status_code == 400
    assert typed in response.content.decode()
    _client, other_html = _form_of(second_token)
    assert "Only for my eyes" not in other_html
    assert "survey-error" not in other_html
    assert rows_for(first) == (0, 0)


def test_a_question_saved_in_this_process_shows_on_the_next_request():
    invitation, token = make_invitation()
    client, _html = _form_of(token)
    question = invitation.survey.questions.get(position=3)
    question.text = "How fair were our prices?"
    question.save()  # the editor or the admin, in this process
    assert "How fair were our prices?" in client.get("/s/answer/").content.decode()


def test_a_survey_saved_by_another_process_shows_at_once_and_other_question_edits_within_a_minute(monkeypatch):
    invitation, token = make_invitation()
    client, _html = _form_of(token)
    # Another process changes a question without touching the survey: no signal reaches this one.
    Question.objects.filter(survey=invitation.survey, position=3).update(text="Rate our delivery")
    assert "Rate our delivery" not in client.get("/s/answer/").content.decode()
    clock = public_cache.time.monotonic
    monkeypatch.setattr(public_cache.time, "monotonic", lambda: clock() + public_cache.SHELL_SECONDS + 1)
    assert "Rate our delivery" in client.get("/s/answer/").content.decode()
    monkeypatch.undo()
    # The survey editor saves the survey with its questions: a new updated_at is a new version.
    Question.objects.filter(survey=invitation.survey, position=3).update(text="Rate our support")
    Survey.objects.filter(pk=invitation.survey_id).update(updated_at=timezone.now() + dt.timedelta(seconds=1))
    assert "Rate our support" in client.get("/s/answer/").content.decode()


def test_sender_settings_changed_by_another_process_show_on_the_next_request():
    _invitation, token = make_invitation()
    client, html = _form_of(token)
    assert "Northwind Revival" not in html
    SurveySettings.objects.filter(pk=1).update(
        company_name="Northwind Revival", updated_at=timezone.now() + dt.timedelta(seconds=1)
    )
    assert "Northwind Revival" in client.get("/s/answer/").content.decode()


@pytest.fixture
def redis_counters(settings):
    """The production arrangement: rate-limit counters in Redis (a key prefix of this test's own)."""
    prefix = f"test-public-speed-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    server = redis.Redis.from_url(REDIS_URL)
    yield lambda pattern="*": sorted(k.decode() for k in server.scan_iter(f"{prefix}:*{pattern}"))
    for key in server.scan_iter(f"{prefix}:*"):
        server.delete(key)


def test_sur_12_a_with_redis_one_token_is_throttled_after_30_requests_a_minute(redis_counters, caplog):
    invitation, token = make_invitation()
    with time_machine.travel(timezone.now(), tick=False):
        client = Client()
        open_survey(client, token)
        statuses = [client.post("/s/answer/", {"q3": "9"}).status_code for _ in range(40)]
    assert statuses == [400] * 30 + [429] * 10
    assert rows_for(invitation) == (0, 0)
    events = [r for r in caplog.records if "survey_rate_limited kind=token" in r.getMessage()]
    assert len(events) == 1
    assert len(redis_counters("surveys:rl:ip:*")) == 2  # this minute's and this hour's
    print(f"SUR-12 (a, Redis): one token, 40 POSTs in one minute: served before 429: {statuses.index(429)}")


def test_with_redis_a_throttled_address_gets_429s_and_creates_no_token_counters(redis_counters, caplog):
    caplog.set_level(logging.INFO, logger="winback.security")
    with time_machine.travel(timezone.now(), tick=False):
        client = Client()
        statuses = [client.get(f"/s/{new_token()}/").status_code for _ in range(100)]
    assert statuses == [404] * 60 + [429] * 40
    assert len(redis_counters("surveys:rl:token:*")) == 60  # none for the 40 refused guesses
    events = [r for r in caplog.records if "survey_rate_limited kind=address" in r.getMessage()]
    assert len(events) == 1


def test_with_redis_counters_expire_with_their_window(redis_counters):
    client = Client()
    client.get(f"/s/{new_token()}/")
    server = redis.Redis.from_url(REDIS_URL)
    ttls = {re.search(r":(\d+/\d+):", key).group(1): server.ttl(key) for key in redis_counters("surveys:rl:*")}
    assert 0 < ttls["60/60"] <= 65
    assert 0 < ttls["600/3600"] <= 3605
    assert 0 < ttls["30/60"] <= 65


def test_a_window_ends_at_the_same_offset_of_every_period_for_one_value():
    end = window_end("127.0.0.1", 3600, now=1_000_000)
    assert 1_000_000 <= end < 1_000_000 + 3600
    assert window_end("127.0.0.1", 3600, now=end - 1) == end
    assert window_end("127.0.0.1", 3600, now=end + 1) == end + 3600


def test_a_link_revoked_or_an_invitation_cancelled_after_opening_no_longer_shows_the_form():
    revoked, revoked_token = make_invitation()
    cancelled, cancelled_token = make_invitation()
    revoked_client, _html = _form_of(revoked_token)
    cancelled_client, _html = _form_of(cancelled_token)
    revoked.links.update(revoked_at=timezone.now())
    Invitation.objects.filter(pk=cancelled.pk).update(status=InvitationStatus.CANCELLED)
    for client in (revoked_client, cancelled_client):
        response = client.get("/s/answer/")
        assert response.status_code == 404
        assert "Olivia" not in response.content.decode()


def test_rates_are_read_as_django_ratelimit_reads_them():
    assert [parse_rate(r) for r in ("30/m", "60/m", "600/h", "100/5m", "600/hour", "10/s", "7/")] == [
        (30, 60),
        (60, 60),
        (600, 3600),
        (100, 300),
        (600, 3600),
        (10, 1),
        (7, 1),
    ]
