"""What the sending job puts in the mail: the personal invitation and its one reminder, the
unsubscribe headers and link (PRIV-01), no header injection, the shipped templates, and the
suppression and preference checks made at the moment of sending (JOB-10, PRIV-03)."""

import datetime as dt
import email
import re
from email import policy

import pytest
import time_machine
from django.core import mail
from django.template import Context, Template
from django.utils import timezone

from customers import services as customer_services
from customers.models import Customer, DefectionEvent
from surveys.models import EmailTemplate, Invitation, InvitationStatus, SurveySettings
from surveys.services.invitations import create_invitations
from surveys.services.sending import send_invitation_batch, send_reminder_batch
from surveys.services.unsubscribe import unsubscribe_customer
from surveys.tests.factories import DefectionEventFactory
from surveys.tests.test_invitations_create import active_survey, defection
from surveys.tokens import find_link
from winback.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SITE = "https://winback.example.com"
LANGUAGES = ["en", "ru", "bg", "pl"]


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
    SurveySettings.objects.update_or_create(pk=1, defaults={"send_per_minute": 100_000})


def send_all(**options) -> dict:
    """Runs batches until nothing more is due; the summed counts."""
    totals: dict[str, int] = {}
    while True:
        counts = send_invitation_batch(**options)
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
        if not counts.get("due"):
            return totals


def parsed(message) -> email.message.EmailMessage:
    return email.message_from_bytes(message.message().as_bytes(), policy=policy.default)


def body_parts(message) -> tuple[str, str]:
    text = message.body
    html = next(content for content, mimetype in message.alternatives if mimetype == "text/html")
    return text, html


def survey_token(text: str) -> str:
    return re.search(rf"{re.escape(SITE)}/s/([A-Za-z0-9_-]{{43}})/", text).group(1)


def unsubscribe_problems(message) -> list[str]:
    """PRIV-01 for one message: exactly one https URI in List-Unsubscribe (mailto allowed),
    the one-click POST header, the same link visible in both parts, no injected headers."""
    problems = []
    headers = parsed(message)
    uris = re.findall(r"<([^>]*)>", headers["List-Unsubscribe"] or "")
    https = [uri for uri in uris if uri.startswith("https://")]
    if len(https) != 1 or any(not uri.startswith(("https://", "mailto:")) for uri in uris):
        problems.append(f"List-Unsubscribe {headers['List-Unsubscribe']!r}")
    if headers["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click":
        problems.append("List-Unsubscribe-Post")
    text, html = body_parts(message)
    if https and (https[0] not in text or f'href="{https[0]}"' not in html):
        problems.append("no visible unsubscribe link")
    if headers["Bcc"] is not None or headers["Cc"] is not None or len(headers.get_all("To")) != 1:
        problems.append("injected recipients")
    raw = message.message().as_bytes()
    if re.search(rb"\r?\n(Bcc|Cc):", raw, re.IGNORECASE):
        problems.append("injected header line")
    if any(char in str(headers["Subject"]) for char in "\r\n"):
        problems.append("line break in Subject")
    return problems


def test_the_invitation_is_personal_signed_and_names_the_reviewer():
    active_survey("en")
    manager = UserFactory(first_name="Anna", last_name="Berg", email="anna@example.com", role="Account managers")
    reviewer = UserFactory(first_name="Rita", last_name="Review", role="Executives")
    SurveySettings.objects.filter(pk=1).update(reviewer=reviewer, company_name="Acme Tools")
    event = defection(name="Maria Lopez", email="maria@example.org", account_manager=manager)
    create_invitations()

    assert send_all()["sent"] == 1

    [message] = mail.outbox
    invitation = Invitation.objects.get(event=event)
    text, html = body_parts(message)
    headers = parsed(message)
    assert message.to == ["Maria Lopez <maria@example.org>"]
    assert headers["Message-ID"] == invitation.message_id
    assert headers["Reply-To"] == "Anna Berg <anna@example.com>"
    assert headers["From"].addresses[0].display_name == "Acme Tools"
    assert "Hello Maria," in text
    assert "stopped buying from us" in text
    assert "Rita Review" in text
    assert "Anna Berg" in text
    assert "Acme Tools" in text
    assert "how likely" not in text.lower()
    assert "Rita Review" in html
    link = find_link(survey_token(text))
    assert link.invitation == invitation
    assert link.purpose == "invitation"
    invitation.refresh_from_db()
    assert (invitation.status, invitation.attempts, invitation.last_error) == (InvitationStatus.SENT, 1, "")
    assert invitation.sent_at is not None


def test_a_cancellation_gets_the_cancelled_text_in_the_customers_language():
    active_survey("ru")
    defection(language="ru", name="Иван Петров", kind=DefectionEvent.Kind.ACTIVE)
    create_invitations()

    send_all()

    [message] = mail.outbox
    template = EmailTemplate.objects.get(kind="invitation_cancelled", language="ru")
    assert "Иван" in message.body
    assert "отказались от наших услуг" in message.body
    assert message.subject == Template(template.subject).render(Context({"company_name": "Winback Demo Ltd"}))


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", EmailTemplate.Kind.values)
def test_every_shipped_template_renders_every_placeholder(kind, language):
    template = EmailTemplate.objects.get(kind=kind, language=language)
    values = {
        "first_name": "FIRST",
        "name": "FULL NAME",
        "company_name": "COMPANY",
        "signer_name": "SIGNER",
        "reviewer_name": "REVIEWER",
        "survey_url": "SURVEY-URL",
        "unsubscribe_url": "UNSUBSCRIBE-URL",
        "what_you_told_us": "TOLD-US",
        "what_we_changed": "CHANGED",
        "offer": "OFFER",
    }
    body = Template(template.body).render(Context(values))
    subject = Template(template.subject).render(Context(values))

    assert "FIRST" in body
    assert "SIGNER" in body
    assert "COMPANY" in body
    assert "{{" not in body + subject
    assert "{%" not in body + subject
    assert "how likely" not in body.lower()
    wanted = {"close_loop": ["TOLD-US", "CHANGED"], "return": ["OFFER"]}.get(kind, ["SURVEY-URL"])
    assert all(value in body for value in wanted)
    if kind.startswith("invitation"):
        assert "REVIEWER" in body
        assert "REVIEWER" not in Template(template.body).render(Context({**values, "reviewer_name": ""}))


def test_every_invitation_and_reminder_has_one_click_unsubscribe_and_no_injected_headers():
    """PRIV-01: every outgoing invitation and reminder, in every language, including a customer
    whose name tries to add a Bcc header."""
    for language in LANGUAGES:
        active_survey(language)
    hostile = defection(name="Eve\r\nBcc: x@evil.test", email="eve@example.org")
    for index in range(12):
        defection(language=LANGUAGES[index % 4], kind=["passive", "active"][index % 2])
    create_invitations()
    send_all()
    with time_machine.travel(timezone.now() + dt.timedelta(days=8)):
        reminders = send_reminder_batch()

    checked = len(mail.outbox)
    failures = {message.extra_headers["Message-ID"]: unsubscribe_problems(message) for message in mail.outbox}
    non_compliant = sum(1 for problems in failures.values() if problems)
    print(f"PRIV-01: messages checked={checked}, non-compliant={non_compliant}")
    assert reminders["sent"] == 13
    assert checked == 26
    assert non_compliant == 0, failures
    to_eve = next(m for m in mail.outbox if "eve@example.org" in m.to[0])
    assert [address.addr_spec for address in parsed(to_eve)["To"].addresses] == ["eve@example.org"]
    assert Invitation.objects.get(event=hostile).status == InvitationStatus.SENT


def test_the_reminder_goes_once_after_the_configured_days_only_to_those_who_did_not_answer():
    active_survey("en")
    SurveySettings.objects.filter(pk=1).update(reminder_after_days=7)
    answered, silent = defection(), defection()
    create_invitations()
    send_all()
    Invitation.objects.filter(event=answered).update(responded_at=timezone.now())
    mail.outbox.clear()

    with time_machine.travel(timezone.now() + dt.timedelta(days=6)):
        too_early = send_reminder_batch()
    with time_machine.travel(timezone.now() + dt.timedelta(days=7, minutes=1)):
        first = send_reminder_batch()
    with time_machine.travel(timezone.now() + dt.timedelta(days=30)):
        again = send_reminder_batch()

    assert too_early.get("claimed", 0) == 0
    assert (first["sent"], again.get("claimed", 0)) == (1, 0)
    [reminder] = mail.outbox
    invitation = Invitation.objects.get(event=silent)
    assert reminder.to[0].endswith(f"<{invitation.customer.email}>")
    assert parsed(reminder)["Message-ID"] == invitation.reminder_message_id != invitation.message_id
    assert "only reminder" in reminder.body
    assert find_link(survey_token(reminder.body)).purpose == "reminder"
    assert invitation.reminder_sent_at is not None


def test_preferences_changed_after_the_invitation_was_made_are_honoured_when_it_is_sent(tmp_path):
    """JOB-10: 1,000 invitations pending; before the batches claim them, 100 customers unsubscribe,
    50 opt out of surveys and 10 are marked do-not-contact by an import."""
    active_survey("en")
    events = [defection() for _ in range(1000)]
    create_invitations()
    customers = [event.customer for event in events]
    for customer in customers[:100]:
        unsubscribe_customer(customer_id=customer.pk)
    Customer.objects.filter(pk__in=[c.pk for c in customers[100:150]]).update(survey_opt_out_at=timezone.now())
    rows = "".join(f"{c.external_id},{c.name},{c.email},yes\n" for c in customers[150:160])
    path = tmp_path / "do-not-contact.csv"
    path.write_text("customer_id,name,email,do_not_contact\n" + rows, encoding="utf-8")
    run = customer_services.import_file(kind="customers", path=path)
    assert run.status == "done", run.errors

    counts = send_all()

    refused = {customer.email for customer in customers[:160]}
    mailed = {parsed(message)["To"].addresses[0].addr_spec for message in mail.outbox}
    to_refused = len(mailed & refused)
    print(f"JOB-10: emails to suppressed or opted-out={to_refused}, sent={len(mail.outbox)}")
    assert to_refused == 0
    assert len(mail.outbox) == counts["sent"] == 840
    # The one-click unsubscribe both suppresses the address and opts the customer out: a preference.
    refused_rows = Invitation.objects.filter(customer__in=customers[:160])
    assert refused_rows.filter(status=InvitationStatus.SKIPPED_PREFERENCE).count() == 160
    assert (
        refused_rows.filter(customer__in=customers[150:160], skip_reason__contains="not to be contacted").count() == 10
    )
    assert Invitation.objects.filter(status=InvitationStatus.SENT).count() == 840


def test_an_unsubscribed_address_gets_nothing_after_a_reimport_as_a_new_customer(tmp_path):
    """PRIV-03: unsubscribe, then the same person comes back as a new customer row (another id,
    the address in other case) and defects again: no invitation, no reminder."""
    active_survey("en")
    first = defection(email="sam.jones@example.org")
    create_invitations()
    send_all()
    unsubscribe_customer(customer_id=first.customer.pk)
    path = tmp_path / "customers.csv"
    path.write_text("customer_id,name,email\nNEW-1,Sam Jones, Sam.Jones@Example.org\n", encoding="utf-8")
    assert customer_services.import_file(kind="customers", path=path).status == "done"
    again = Customer.objects.get(external_id="NEW-1")
    again.status = "defected"
    again.save()
    DefectionEventFactory(customer=again)
    mail.outbox.clear()

    create_invitations()
    send_all()
    with time_machine.travel(timezone.now() + dt.timedelta(days=8)):
        send_reminder_batch()

    after = len(mail.outbox)
    print(f"PRIV-03: emails after unsubscribe={after}, time to effect=next claim")
    assert after == 0
    assert Invitation.objects.get(customer=again).status == InvitationStatus.SKIPPED_SUPPRESSED
    assert Invitation.objects.get(customer=first.customer).reminder_skipped_at is not None
