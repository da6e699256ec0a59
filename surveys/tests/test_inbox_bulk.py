"""Invitations to return in bulk: choose a reason and a period, see the count, confirm, send —
each respondent at most once per reason, skipped ones reported, a repeated confirm a no-op."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from customers.models import Reason
from customers.tests.factories import CustomerFactory
from surveys.models import ResponseReply
from surveys.tests.test_inbox_support import make_response, new_survey, reply_templates

URL = reverse("surveys:return_invitations")
OFFER = "A free month on us"


@pytest.fixture(autouse=True)
def _templates(db):
    reply_templates()


def _respondents():
    """Three who named delivery (one of them twice), one who may not be contacted, one who named
    price, and one who named delivery long ago."""
    survey = new_survey()
    anna = CustomerFactory(name="Anna Delivery")
    make_response(
        customer=anna,
        reason=Reason.DELIVERY,
        survey=survey,
        event_status="closed",
        submitted_at=timezone.now() - dt.timedelta(days=5),
    )
    make_response(customer=anna, reason=Reason.DELIVERY, survey=survey)
    make_response(customer=CustomerFactory(name="Boris Delivery"), reason=Reason.DELIVERY, survey=survey)
    make_response(
        customer=CustomerFactory(name="Carl Careful", do_not_contact=True), reason=Reason.DELIVERY, survey=survey
    )
    make_response(customer=CustomerFactory(name="Dana Price"), reason=Reason.PRICE, survey=survey)
    make_response(
        customer=CustomerFactory(name="Emil Old"),
        reason=Reason.DELIVERY,
        survey=survey,
        submitted_at=timezone.now() - dt.timedelta(days=400),
    )


def _count(client, **data):
    since = (timezone.localdate() - dt.timedelta(days=90)).isoformat()
    form = {"reason": Reason.DELIVERY, "since": since, "until": "", "offer": OFFER, **data}
    return client.post(URL, {**form, "count": "1"})


def _confirm_form(html: str) -> dict:
    form = html[html.index('name="send"') - 2000 : html.index('name="send"')]
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    for method in (client.get, client.post):
        assert method(URL)["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("role_user", "allowed"),
    [("manager", False), ("executive", False), ("administrator", True)],
    indirect=["role_user"],
)
def test_bulk_invitations_are_for_administrators(client, role_user, allowed):
    _respondents()
    client.force_login(role_user)
    assert client.get(URL).status_code == (200 if allowed else 403)
    assert _count(client).status_code == (200 if allowed else 403)


def test_counting_shows_who_will_be_invited_and_who_is_skipped_and_sends_nothing(
    admin_client, django_assert_max_num_queries
):
    _respondents()
    with django_assert_max_num_queries(12):
        answer = _count(admin_client)
    html = answer.content.decode()
    assert "2 respondents will be invited." in html
    assert "1 will be skipped:" in html
    assert "Carl Careful" in html
    assert "asked not to be contacted" in html
    assert "Send 2 invitations" in html
    assert mail.outbox == []
    assert not ResponseReply.objects.exists()


def test_confirming_sends_one_invitation_per_respondent_and_reports_the_skipped(
    admin_client, django_capture_on_commit_callbacks
):
    _respondents()
    confirm = _confirm_form(_count(admin_client).content.decode())
    assert len(confirm["run"]) == 32
    with django_capture_on_commit_callbacks(execute=True):
        answer = admin_client.post(URL, {**confirm, "send": "1"})
    html = answer.content.decode()
    assert "2 invitations to return are on their way." in html
    assert "1 skipped:" in html
    assert "Carl Careful" in html
    assert sorted(message.to[0].split(" <")[0] for message in mail.outbox) == ["Anna Delivery", "Boris Delivery"]
    assert all(OFFER in message.body for message in mail.outbox)
    assert ResponseReply.objects.filter(kind="return", status="sent").count() == 2
    skipped = ResponseReply.objects.get(status="skipped")
    assert skipped.response.customer.name == "Carl Careful"
    assert "not to be contacted" in skipped.last_error


def test_the_same_confirmation_submitted_again_sends_nothing_more(admin_client, django_capture_on_commit_callbacks):
    _respondents()
    confirm = _confirm_form(_count(admin_client).content.decode())
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(URL, {**confirm, "send": "1"})
    with django_capture_on_commit_callbacks(execute=True):
        again = admin_client.post(URL, {**confirm, "send": "1"})
    assert "already sent; nothing was sent again" in again.content.decode()
    assert len(mail.outbox) == 2


def test_a_new_run_for_the_same_reason_skips_those_already_invited_back(
    admin_client, django_capture_on_commit_callbacks
):
    _respondents()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(URL, {**_confirm_form(_count(admin_client).content.decode()), "send": "1"})
    html = _count(admin_client).content.decode()
    assert "0 respondents will be invited." in html
    assert "2 were invited back for this reason before." in html
    assert "Nobody to invite." in html
    assert len(mail.outbox) == 2


def test_the_period_limits_the_respondents(admin_client):
    _respondents()
    html = _count(admin_client, since="", until="").content.decode()
    assert "3 respondents will be invited." in html  # Emil answered 400 days ago
    html = _count(admin_client, reason=Reason.PRICE).content.decode()
    assert "1 respondent will be invited." in html


def test_a_confirmation_without_an_offer_is_refused(admin_client):
    _respondents()
    confirm = _confirm_form(_count(admin_client).content.decode())
    answer = admin_client.post(URL, {**confirm, "offer": "", "send": "1"})
    assert "This field is required." in answer.content.decode()
    assert not ResponseReply.objects.exists()
