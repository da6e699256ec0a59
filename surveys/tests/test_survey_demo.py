"""The demo's survey history (`seed_survey_demo`, run by `make run` after `seed_demo`)."""

import datetime as dt
import io

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from customers.models import DefectionEvent
from surveys.models import Answer, Invitation, Response

NOW = dt.datetime(2026, 3, 15, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_the_demo_invites_its_defectors_sends_the_mail_and_answers_a_share():
    run("seed_demo", "--customers", "300")
    output = run("seed_survey_demo", "--if-empty")
    assert "Survey demo loaded" in output
    events = DefectionEvent.objects.count()
    invitations = Invitation.objects.count()
    # One per event still open (sent, or skipped saying why); events already closed by a later
    # purchase are no longer invited, as the job would not have had them when it ran late.
    assert 0 < invitations <= events
    assert Invitation.objects.values("event").distinct().count() == invitations
    sent = Invitation.objects.filter(status="sent").count()
    assert len(mail.outbox) == sent > 0
    responses = Response.objects.count()
    assert 0 < responses < sent
    opened = Invitation.objects.filter(opened_at__isnull=False).count()
    assert responses < opened  # everyone who answered opened the link, and some only opened it
    assert not Invitation.objects.filter(responded_at__isnull=False, opened_at__isnull=True).exists()
    assert Answer.objects.filter(response__isnull=False).values("response").distinct().count() == responses
    assert not Response.objects.filter(stated_reason="").exists()
    reviewed = Response.objects.filter(reviewed_at__isnull=False).select_related("invitation__event")
    assert reviewed.exists()
    assert all(r.invitation.event.primary_reason == r.stated_reason for r in reviewed)
    assert all(r.submitted_at <= NOW for r in Response.objects.all())
    languages = set(Response.objects.values_list("language", flat=True))
    assert len(languages) >= 2  # the customers' own languages

    assert "already loaded" in run("seed_survey_demo", "--if-empty")
    assert Invitation.objects.count() == invitations
