"""The whole exit-survey path in real Chromium (issue 4, the first Done-when): detection flags a
Russian customer who stopped buying, the sending job emails the invitation (Django's locmem
backend captures it), the customer opens the link from that email, answers the shipped Russian
survey and sees the Russian thank-you page; the impartial reviewer finds the answer, confirms the
reason and the fault, and sends the close-the-loop reply."""

import datetime as dt
import importlib
import re
from decimal import Decimal

import pytest
from django.apps import apps
from django.core import mail
from playwright.sync_api import expect

from conftest import sign_in
from customers.detection.engine import run_detection
from customers.models import DefectionEvent, Reason, Transaction
from customers.tests.factories import CustomerFactory, SegmentFactory
from surveys.models import Invitation, Response, ResponseReply, SurveySettings
from surveys.tasks import send_survey_invitations
from winback.tests.factories import DEMO_TEST_PASSWORD, UserFactory

pytestmark = [
    pytest.mark.usefixtures("short_lived_db_connections"),
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SURVEY_LINK = re.compile(r"https?://[^\s\"<>]+/s/([A-Za-z0-9_-]{43})/")


@pytest.fixture(autouse=True)
def _shipped_surveys_and_templates():
    """The shipped surveys and email templates, as the migrations create them. An earlier test on
    a committed database may have flushed them; both functions skip what exists."""
    importlib.import_module("surveys.migrations.0002_default_surveys").create_default_surveys(apps, None)
    importlib.import_module("surveys.migrations.0003_email_templates").create_templates(apps, None)


def _defected_russian_customer(manager):
    segment = SegmentFactory(name="Journey")
    segment.at_risk_days, segment.defected_days = 30, 60
    segment.save()
    customer = CustomerFactory(
        name="Ольга Смирнова", email="olga@example.org", language="ru", segment=segment, account_manager=manager
    )
    for days_ago in (400, 300, 200, 120):
        Transaction.objects.create(
            customer=customer,
            external_id=f"J{days_ago}",
            occurred_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago),
            amount=Decimal("250.00"),
            kind=Transaction.Kind.PURCHASE,
        )
    return customer


def test_a_defector_answers_in_russian_and_the_reviewer_closes_the_loop(page, live_server, settings):
    settings.SITE_URL = live_server.url
    manager = UserFactory(username="anna", first_name="Анна", last_name="Петрова", role="Account managers")
    reviewer = UserFactory(username="rita", first_name="Рита", last_name="Соколова", role="Executives")
    sender = SurveySettings.load()
    sender.reviewer = reviewer
    sender.save()
    customer = _defected_russian_customer(manager)

    # Detection flags the customer; the beat job creates and sends the invitation.
    run = run_detection()
    assert run.summary["newly_defected_passive"] == 1
    event = DefectionEvent.objects.get(customer=customer, status="open")
    outcome = send_survey_invitations.delay().get()
    print("send job:", outcome)
    invitation = Invitation.objects.get(event=event)
    assert invitation.status == "sent", invitation.last_error
    (email,) = [m for m in mail.outbox if "olga@example.org" in m.to[0]]
    assert email.reply_to[0].endswith("<anna@example.com>")  # the signer: the account manager
    assert "Анна Петрова" in email.body
    assert "Рита Соколова" in email.body
    token = SURVEY_LINK.search(email.body).group(1)

    # The customer opens the emailed link in Chromium and answers the shipped Russian survey.
    page.goto(f"/s/{token}/")
    expect(page).to_have_url(re.compile(r"/s/answer/$"))
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    page.get_by_label("Цена или более выгодное предложение в другом месте").check()
    page.get_by_label("До нас было трудно дозвониться или мы долго отвечали").check()
    page.locator("label[for='id_q3_1']").click()
    page.get_by_label("Своими словами: что нам следовало сделать иначе?").fill(
        "Цены выросли дважды за год, а <script>alert(1)</script> никто не предупредил."
    )
    page.get_by_label("Да", exact=True).check()
    page.get_by_role("button", name="Отправить ответы").click()
    expect(page.get_by_role("heading", name=re.compile("Спасибо"))).to_be_visible()
    expect(page.get_by_text("Рита Соколова")).to_be_visible()
    response = Response.objects.get(invitation=invitation)
    assert response.stated_reason == Reason.PRICE

    # The reviewer sees the answer, confirms the reason and the fault, and closes the loop.
    context = page.context.browser.new_context(base_url=live_server.url)
    staff = context.new_page()
    dialogs = []
    staff.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(staff, "rita", DEMO_TEST_PASSWORD)
    staff.goto("/surveys/responses/")
    staff.get_by_role("link", name="Ольга Смирнова").click()
    expect(staff.get_by_text("<script>alert(1)</script>", exact=False)).to_be_visible()
    staff.get_by_label("Primary reason").select_option(Reason.PRICE)
    staff.get_by_label("Our fault", exact=True).check()
    staff.get_by_role("button", name="Save reason and fault").click()
    expect(staff.get_by_text("Our fault").first).to_be_visible()
    event.refresh_from_db()
    assert (event.primary_reason, event.fault) == (Reason.PRICE, "ours")

    staff.get_by_role("link", name="Reply: what we changed").click()
    staff.get_by_label("What we changed").fill("Мы заморозили цены на год и будем предупреждать заранее.")
    staff.get_by_role("button", name="Preview").click()
    staff.get_by_role("button", name="Send this email").click()
    expect(staff.get_by_text(re.compile("sent|queued|Sent|Queued")).first).to_be_visible()
    reply = ResponseReply.objects.get(response=response, kind="close_loop")
    assert reply.status == "sent"
    assert reply.sent_at is not None
    (sent,) = [m for m in mail.outbox if m.extra_headers.get("Message-ID") == reply.message_id]
    assert "Мы заморозили цены на год" in sent.body
    assert sent.to[0].endswith("<olga@example.org>")
    assert dialogs == []
    context.close()
    print(
        f"Journey: detected {run.summary['newly_defected_passive']}, invitation {invitation.status}, "
        f"answered in {response.language}, reason {event.primary_reason}/{event.fault}, reply {reply.status}"
    )
