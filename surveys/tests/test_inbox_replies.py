"""Closing the loop from a response: compose, preview without sending, send once; the invitation
to return from a response; refusals; the sending task's states."""

import smtplib

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse
from django.utils import timezone

from customers.tests.factories import CustomerFactory
from surveys.models import ResponseReply
from surveys.services import replies
from surveys.suppression import suppress
from surveys.tests.test_inbox_support import designate_reviewer, make_response, reply_templates
from winback.tests.factories import UserFactory

Status = ResponseReply.Status


class DisconnectingBackend(BaseEmailBackend):
    """The SMTP transport dropping the connection (the one seam mocked here)."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("connection lost")


class RejectingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise smtplib.SMTPDataError(550, b"mailbox unavailable")


@pytest.fixture(autouse=True)
def _templates(db):
    reply_templates()


def _reply_url(response) -> str:
    return reverse("surveys:response_reply", args=[response.pk])


def _return_url(response) -> str:
    return reverse("surveys:response_return", args=[response.pk])


def _preview(client, response, **data):
    form = {"told": "Late twice", "changed": "We hired two drivers.", **data}
    return client.post(_reply_url(response), {**form, "preview": "1"})


def _message_id(html: str) -> str:
    marker = 'name="message_id" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)].replace("&lt;", "<").replace("&gt;", ">")


def test_anonymous_visitors_cannot_reply(client, db):
    response = make_response()
    for url in (_reply_url(response), _return_url(response), reverse("surveys:return_invitations")):
        for method in (client.get, client.post):
            answer = method(url)
            assert answer.status_code == 302
            assert answer["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("role_user", "allowed"), [("manager", False), ("executive", True), ("administrator", True)], indirect=["role_user"]
)
def test_replying_is_for_the_reviewer_administrators_and_the_account_manager(client, role_user, allowed):
    response = make_response()
    client.force_login(role_user)
    for url in (_reply_url(response), _return_url(response)):
        assert client.get(url).status_code == (200 if allowed else 403)
        assert client.post(url, {"told": "x", "changed": "y", "offer": "z", "send": "1"}).status_code == (
            200 if allowed else 403
        )
    assert not ResponseReply.objects.exists()


def test_the_account_manager_may_reply_to_their_own_customer(client, manager):
    response = make_response(customer=CustomerFactory(account_manager=manager))
    client.force_login(manager)
    assert client.get(_reply_url(response)).status_code == 200
    assert client.get(_return_url(response)).status_code == 200


def test_an_executive_who_is_not_the_reviewer_may_not_reply(client, executive):
    designate_reviewer(UserFactory(role="Executives"))
    response = make_response()
    client.force_login(executive)
    assert client.get(_reply_url(response)).status_code == 403


def test_the_form_quotes_the_customers_own_words(admin_client):
    response = make_response(text="The courier   left the parcel\nin the rain. " + "word " * 200)
    html = admin_client.get(_reply_url(response)).content.decode()
    assert "The courier left the parcel in the rain." in html
    assert "word word…" in html


def test_the_preview_renders_the_message_without_sending_it(admin_client, administrator, django_assert_max_num_queries):
    response = make_response(customer=CustomerFactory(name="Greta Vollmer"))
    with django_assert_max_num_queries(16):
        answer = _preview(admin_client, response, changed="We hired <b>two</b> drivers.")
    html = answer.content.decode()
    assert answer.status_code == 200
    assert "Greta, what we changed" in html
    assert "Here is what we changed: We hired &lt;b&gt;two&lt;/b&gt; drivers." in html  # the text part, escaped
    assert '<iframe sandbox=""' in html
    assert "srcdoc=" in html
    assert "We hired &amp;lt;b&amp;gt;two" in html  # the HTML part escaped in the email, then in the attribute
    assert administrator.email in html  # Reply-To
    assert "Send this email" in html
    assert mail.outbox == []
    assert not ResponseReply.objects.exists()


def test_sending_without_a_preview_only_previews(admin_client):
    response = make_response()
    answer = admin_client.post(_reply_url(response), {"told": "a", "changed": "b", "send": "1"})
    assert answer.status_code == 200
    assert "Preview: exactly what will be sent" in answer.content.decode()
    assert not ResponseReply.objects.exists()


def test_sending_the_previewed_reply_emails_it_once_and_records_the_time(
    admin_client, administrator, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(name="Greta Vollmer", email="greta@example.org")
    response = make_response(customer=customer)
    message_id = _message_id(_preview(admin_client, response).content.decode())
    form = {"told": "Late twice", "changed": "We hired two drivers.", "message_id": message_id, "send": "1"}
    with django_capture_on_commit_callbacks(execute=True):
        answer = admin_client.post(_reply_url(response), form)
    assert answer.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(_reply_url(response), form)  # a second click on the same preview
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["Greta Vollmer <greta@example.org>"]
    assert "You told us: Late twice" in message.body
    assert "Here is what we changed: We hired two drivers." in message.body
    html = message.alternatives[0][0]
    assert message.alternatives[0][1] == "text/html"
    assert "We hired two drivers." in html
    assert message.reply_to
    assert administrator.email in message.reply_to[0]
    assert message.extra_headers["Message-ID"] == message_id
    assert message.extra_headers["List-Unsubscribe"].startswith("<http")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    reply = ResponseReply.objects.get()
    assert (reply.status, reply.message_id, reply.kind) == (Status.SENT, message_id, "close_loop")
    assert reply.sent_at is not None
    assert reply.created_by == administrator
    page = admin_client.get(reverse("surveys:response_detail", args=[response.pk])).content.decode()
    assert f"Sent {timezone.localtime(reply.sent_at):%Y-%m-%d %H:%M}" in page


def test_the_customers_words_are_never_run_as_a_template(admin_client, django_capture_on_commit_callbacks):
    response = make_response(text="{{ 7|add:7 }} {% now 'Y' %} {{ unsubscribe_url }}")
    html = admin_client.get(_reply_url(response)).content.decode()
    assert "{{ 7|add:7 }}" in html
    told = "{{ 7|add:7 }} {% now 'Y' %} {{ unsubscribe_url }}"
    message_id = _message_id(_preview(admin_client, response, told=told).content.decode())
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            _reply_url(response), {"told": told, "changed": "{% debug %}", "message_id": message_id, "send": "1"}
        )
    body = mail.outbox[0].body
    assert "You told us: {{ 7|add:7 }} {% now 'Y' %} {{ unsubscribe_url }}" in body
    assert "Here is what we changed: {% debug %}" in body
    assert "14" not in body.split("You told us:")[1].split("\n")[0]


@pytest.mark.parametrize(
    ("prepare", "explanation"),
    [
        (lambda c: setattr(c, "do_not_contact", True), "asked not to be contacted"),
        (lambda c: setattr(c, "survey_opt_out_at", timezone.now()), "opted out of surveys"),
        (lambda c: suppress(c.email, "hard_bounce", customer=c), "suppressed"),
        (lambda c: setattr(c, "email", ""), "No email address"),
    ],
)
def test_a_reply_is_refused_with_the_reason_when_survey_mail_may_not_go_to_them(
    admin_client, prepare, explanation, django_capture_on_commit_callbacks
):
    customer = CustomerFactory()
    prepare(customer)
    customer.save()
    response = make_response(customer=customer)
    page = admin_client.get(_reply_url(response)).content.decode()
    assert explanation in page
    preview = _preview(admin_client, response).content.decode()
    assert "Send this email" not in preview
    form = {"told": "a", "changed": "b", "message_id": _message_id(preview), "send": "1"}
    with django_capture_on_commit_callbacks(execute=True):
        answer = admin_client.post(_reply_url(response), form)
    assert answer.status_code == 200
    assert explanation in answer.content.decode()
    assert not ResponseReply.objects.exists()
    assert mail.outbox == []


def test_a_customer_who_opts_out_before_sending_is_skipped(administrator):
    response = make_response()
    reply = replies.reply_create(response=response, kind="close_loop", actor=administrator, told="a", changed="b")
    customer = response.customer
    customer.do_not_contact = True
    customer.save()
    assert replies.reply_deliver(reply_id=reply.pk) == "skipped"
    reply.refresh_from_db()
    assert reply.status == Status.SKIPPED
    assert "not to be contacted" in reply.last_error
    assert mail.outbox == []


def test_a_dropped_connection_keeps_the_reply_pending_for_a_retry_then_fails_it(administrator, settings):
    settings.EMAIL_BACKEND = f"{__name__}.DisconnectingBackend"
    reply = replies.reply_create(
        response=make_response(), kind="close_loop", actor=administrator, told="a", changed="b"
    )
    with pytest.raises(replies.TransientSendError):
        replies.reply_deliver(reply_id=reply.pk)
    reply.refresh_from_db()
    assert reply.status == Status.PENDING
    assert "connection lost" in reply.last_error
    assert replies.reply_deliver(reply_id=reply.pk, final_attempt=True) == "failed"
    reply.refresh_from_db()
    assert reply.status == Status.FAILED
    assert replies.reply_deliver(reply_id=reply.pk) == "not pending"


def test_a_permanent_rejection_fails_the_reply_at_once(administrator, settings):
    settings.EMAIL_BACKEND = f"{__name__}.RejectingBackend"
    reply = replies.reply_create(
        response=make_response(), kind="close_loop", actor=administrator, told="a", changed="b"
    )
    assert replies.reply_deliver(reply_id=reply.pk) == "failed"
    reply.refresh_from_db()
    assert reply.status == Status.FAILED
    assert "550" in reply.last_error


def test_a_sent_reply_is_never_sent_again_by_a_redelivered_task(administrator):
    from surveys.reply_tasks import send_response_reply_task

    reply = replies.reply_create(
        response=make_response(), kind="close_loop", actor=administrator, told="a", changed="b"
    )
    assert send_response_reply_task.apply(args=[reply.pk]).get() == "sent"
    assert send_response_reply_task.apply(args=[reply.pk]).get() == "not pending"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].extra_headers["Message-ID"] == reply.message_id


def test_an_invitation_to_return_is_previewed_and_sent_with_the_offer(admin_client, django_capture_on_commit_callbacks):
    response = make_response(customer=CustomerFactory(name="Greta Vollmer"))
    html = admin_client.post(
        _return_url(response), {"offer": "20 % off your next order", "preview": "1"}
    ).content.decode()
    assert "Come back, Greta" in html
    assert "Our offer: 20 % off your next order" in html
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            _return_url(response), {"offer": "20 % off your next order", "message_id": _message_id(html), "send": "1"}
        )
    assert len(mail.outbox) == 1
    assert "Our offer: 20 % off your next order" in mail.outbox[0].body
    reply = ResponseReply.objects.get()
    assert (reply.kind, reply.offer, reply.status) == ("return", "20 % off your next order", Status.SENT)


def test_a_reply_needs_what_was_changed(admin_client):
    response = make_response()
    answer = admin_client.post(_reply_url(response), {"told": "a", "changed": "", "preview": "1"})
    assert "This field is required." in answer.content.decode()
    assert not ResponseReply.objects.exists()
