"""The reviewer digest: new responses emailed to the reviewer at most once an hour, none when
nothing is new, open text escaped in the HTML part and literal in the text part."""

import datetime as dt
import smtplib

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse
from django.utils import timezone

from customers.tests.factories import CustomerFactory
from surveys.models import Response, SurveySettings
from surveys.reply_tasks import send_reviewer_digest_task
from surveys.services.review import send_reviewer_digest
from surveys.tests.test_inbox_support import designate_reviewer, make_response
from winback.models import JobRun
from winback.tests.factories import UserFactory

# Half past an hour, so that "an hour later" is a different hour slot and "minutes later" is not.
START = dt.datetime(2026, 3, 10, 9, 30, tzinfo=dt.UTC)


class BrokenBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("connection lost")


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def test_no_digest_is_sent_when_nothing_is_new(executive, clock):
    assert send_reviewer_digest() == "nothing new"
    assert mail.outbox == []
    assert not JobRun.objects.filter(job="reviewer_digest").exists()


def test_the_first_active_executive_gets_the_new_responses_when_no_reviewer_is_set(executive, clock):
    UserFactory(username="zz-exec", role="Executives")  # created later: not the first
    first = make_response(customer=CustomerFactory(name="Greta Vollmer"), text="Late twice.")
    second = make_response(customer=CustomerFactory(name="Hans Richter"), text="")
    assert send_reviewer_digest_task.apply().get().startswith("2 responses")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [executive.email]
    assert message.subject == "2 new survey responses"
    html = message.alternatives[0][0]
    assert message.alternatives[0][1] == "text/html"
    for part in (message.body, html):
        assert "Greta Vollmer" in part
        assert "Hans Richter" in part
        assert "Price / competitor offer" in part
        assert "Late twice." in part
        assert "http://127.0.0.1:8000" + reverse("surveys:response_detail", args=[first.pk]) in part
        assert reverse("surveys:response_detail", args=[second.pk]) in part
    assert Response.objects.filter(digested_at__isnull=True).count() == 0
    assert SurveySettings.load().reviewer_digest_sent_at == timezone.now()


def test_the_designated_reviewer_gets_the_digest(executive, clock):
    reviewer = UserFactory(role="Account managers", email="rita@example.com")
    designate_reviewer(reviewer)
    make_response()
    send_reviewer_digest()
    assert mail.outbox[0].to == ["rita@example.com"]


def test_at_most_one_digest_an_hour_and_the_next_hour_has_only_the_new_responses(executive, clock):
    make_response(customer=CustomerFactory(name="First Hour"))
    send_reviewer_digest()
    clock.shift(dt.timedelta(minutes=20))
    make_response(customer=CustomerFactory(name="Second Hour"))
    assert send_reviewer_digest() == "already sent this hour"
    assert send_reviewer_digest_task.apply().get() == "already sent this hour"
    assert len(mail.outbox) == 1
    clock.shift(dt.timedelta(hours=1))
    send_reviewer_digest()
    assert len(mail.outbox) == 2
    assert "Second Hour" in mail.outbox[1].body
    assert "First Hour" not in mail.outbox[1].body
    clock.shift(dt.timedelta(hours=1))
    assert send_reviewer_digest() == "nothing new"
    assert len(mail.outbox) == 2


def test_a_failed_digest_gives_the_hour_back_and_loses_no_response(executive, clock, settings):
    make_response(customer=CustomerFactory(name="Greta Vollmer"))
    settings.EMAIL_BACKEND = f"{__name__}.BrokenBackend"
    with pytest.raises(smtplib.SMTPServerDisconnected):
        send_reviewer_digest()
    assert Response.objects.filter(digested_at__isnull=True).count() == 1
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    send_reviewer_digest()
    assert len(mail.outbox) == 1
    assert "Greta Vollmer" in mail.outbox[0].body


def test_no_digest_without_a_reviewer_or_an_executive(db, clock):
    make_response()
    assert send_reviewer_digest() == "no reviewer"
    assert mail.outbox == []
    assert Response.objects.filter(digested_at__isnull=True).count() == 1


def test_open_text_is_escaped_in_the_html_part_and_literal_in_the_text_part(executive, clock):
    make_response(customer=CustomerFactory(name="<b>Bold</b> & Co"), text='<script>alert("x")</script> {{ 7|add:7 }}')
    send_reviewer_digest()
    message = mail.outbox[0]
    html = message.alternatives[0][0]
    assert "<script>" not in html
    assert "<b>Bold" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; {{ 7|add:7 }}" in html
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; Co" in html
    assert '<script>alert("x")</script> {{ 7|add:7 }}' in message.body
    assert "<b>Bold</b> & Co" in message.body


def test_the_digest_task_has_the_name_beat_uses():
    assert send_reviewer_digest_task.name == "surveys.send_reviewer_digest"
