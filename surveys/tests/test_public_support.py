"""Helpers for the public survey page tests (no tests here): an invitation with an emailed link,
a respondent's answers, and a fresh rate-limit cache for every test."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from customers.tests.factories import CustomerFactory
from surveys import public_cache
from surveys.models import Answer, EmailTemplate, Response, SurveySettings
from surveys.tests.factories import DefectionEventFactory, EmailTemplateFactory, InvitationFactory, SurveyFactory
from surveys.tokens import mint_link

VALID_ANSWERS = {
    "q1": "2",
    "q2": ["1", "2"],
    "q3": "4",
    "q4": "Deliveries came late.",
    "q5": "yes",
    "q5_channel": "phone",
}


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate-limit counters live in the (process-wide) cache, and the survey form's markup and the
    sender settings in the process's memory; each test starts with none."""
    cache.clear()
    public_cache.clear()
    yield
    cache.clear()
    public_cache.clear()


def make_invitation(*, language="en", customer=None, now=None, valid_days=30, **customer_fields):
    """An invitation (sent) with its own inactive survey — the default surveys shipped by the data
    migration stay the active ones — and the raw token of its link."""
    SurveySettings.load()  # the settings row exists in every installation (created on first use)
    customer = customer or CustomerFactory(
        name=customer_fields.pop("name", "Olivia Quist"), language=language, **customer_fields
    )
    survey = SurveyFactory(language=language, is_active=False)
    invitation = InvitationFactory(
        event=DefectionEventFactory(customer=customer),
        customer=customer,
        survey=survey,
        language=language,
        status="sent",
        sent_at=now or timezone.now(),
    )
    token = mint_link(invitation, now=now or timezone.now(), valid_days=valid_days)
    return invitation, token


def fresh_link_template():
    return EmailTemplateFactory(
        kind=EmailTemplate.Kind.FRESH_LINK,
        language="en",
        subject="Your new survey link",
        body="Dear {{ first_name }},\n\nHere is a new link: {{ survey_url }}\n\n{{ signer_name }}",
    )


def open_survey(client: Client, token: str):
    """Opens the emailed link; returns the redirect response."""
    return client.get(f"/s/{token}/")


def rows_for(invitation) -> tuple[int, int]:
    return (
        Response.objects.filter(invitation=invitation).count(),
        Answer.objects.filter(response__invitation=invitation).count(),
    )


def expires_at(invitation):
    return invitation.links.get(purpose="invitation").expires_at


def second(n=1):
    return dt.timedelta(seconds=n)
