"""PRIV-08 (security events, escaping, no secrets in the logs) and SUR-08's application-log sink,
from RELIABILITY.md. The log output captured here is the configured one: a handler on the root
logger with the formatter and filters of the handler settings.LOGGING installs (JSON, redacted),
written to a StringIO, while real requests go through the real views."""

import io
import json
import logging
from collections import Counter

import pytest
from celery import shared_task
from django.core import signing
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from cases.tests.factories import CaseFactory
from customers.models import ImportRun
from surveys.tests.test_public_support import VALID_ANSWERS, make_invitation, open_survey, rows_for
from surveys.tokens import hash_token, new_token
from winback.logs import JsonFormatter, RedactFilter, clean, security_event
from winback.tests.factories import DEMO_TEST_PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
EVIL_USERNAME = "mallory\r\nINFO forged entry \x1b[31mred\x1b[0m"
EMAIL_USERNAME = "victim.person@example.com"
WRONG_PASSWORD = "Wr0ng-Passw0rd-Seventeen!"
EVIL_ANSWER = "They lied\r\nERROR admin logged out \x1b[31mpaid\x1b[0m, write to answer.writer@example.net"
EXPECTED_EVENTS = {
    "authz_denied",
    "login_failed",
    "login_locked_out",
    "login_address_throttled",
    "survey_rate_limited",
    "survey_link_not_found",
    "unsubscribe_token_invalid",
    "webhook_auth_failed",
    "import_rejected",
}


def _configured_handler() -> logging.Handler:
    """The handler settings.LOGGING puts on the root logger (the one with the redaction filter)."""
    handlers = [h for h in logging.getLogger().handlers if any(isinstance(f, RedactFilter) for f in h.filters)]
    assert len(handlers) == 1, logging.getLogger().handlers
    return handlers[0]


@pytest.fixture
def log_output():
    """The application log as production writes it (INFO and up), as a StringIO."""
    configured = _configured_handler()
    assert isinstance(configured.formatter, JsonFormatter)
    stream = io.StringIO()
    sink = logging.StreamHandler(stream)
    sink.setFormatter(configured.formatter)
    for log_filter in configured.filters:
        sink.addFilter(log_filter)
    root = logging.getLogger()
    level = root.level
    root.addHandler(sink)
    root.setLevel(logging.INFO)
    cache.clear()  # rate-limit counters and the "logged once" marks
    yield stream
    root.setLevel(level)
    root.removeHandler(sink)
    cache.clear()


def _entries(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _events(stream: io.StringIO, name: str) -> list[dict]:
    return [e for e in _entries(stream) if e.get("event") == name]


def _sign_in(client: Client, username: str, password: str, ip: str = "127.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def _drive_every_security_event(settings, manager, other_manager, administrator) -> dict:
    """Every kind of security event through the real views; returns the secrets used."""
    secrets = {"passwords": [WRONG_PASSWORD, DEMO_TEST_PASSWORD], "emails": [EMAIL_USERNAME], "answers": []}
    # Failed authorization: a guessed case id (404, AUTHZ-02) and an administrators' page (403).
    client = Client()
    client.force_login(manager)
    foreign = CaseFactory(owner=other_manager)
    assert client.get(reverse("cases:detail", args=[foreign.pk])).status_code == 404
    denied = client.get(reverse("staff:user_list"))
    assert denied.status_code == 403
    secrets["request_id"] = denied["X-Request-ID"]
    # Failed sign-ins: a hostile username, an email address as username, then a lock-out.
    assert _sign_in(Client(), EVIL_USERNAME, WRONG_PASSWORD).status_code == 200
    assert _sign_in(Client(), EMAIL_USERNAME, WRONG_PASSWORD).status_code == 200
    statuses = [_sign_in(Client(), "manager", WRONG_PASSWORD, ip="10.1.1.1").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    # One address guessing usernames: 20 failures an hour lock the address.
    guesses = [_sign_in(Client(), f"guess{n}", WRONG_PASSWORD, ip="10.2.2.2").status_code for n in range(21)]
    assert guesses[-1] == 429
    # Survey: one token, 31 POSTs (the answers hold the hostile text); the 31st is throttled.
    invitation, token = make_invitation(email="olivia.quist@example.org")
    secrets["tokens"] = [token]
    secrets["emails"].append(invitation.customer.email)
    respondent = Client()
    open_survey(respondent, token)
    posted = [respondent.post("/s/answer/", {"q3": "9", "q4": EVIL_ANSWER}).status_code for _ in range(31)]
    assert posted == [400] * 30 + [429]
    secrets["answers"].append(EVIL_ANSWER)
    # A completed survey whose free-text answer is hostile too.
    answered, answered_token = make_invitation(email="second.person@example.org")
    person = Client()
    open_survey(person, answered_token)
    answer_text = "Second answer\r\n\x1b[2Jwith an address some.one@example.com"
    assert person.post("/s/answer/", {**VALID_ANSWERS, "q4": answer_text}).status_code == 302
    assert rows_for(answered)[0] == 1
    secrets["tokens"].append(answered_token)
    secrets["emails"] += [answered.customer.email, "some.one@example.com", "answer.writer@example.net"]
    secrets["answers"].append(answer_text)
    # Invalid links: a random survey token (404) and a forged unsubscribe token (400).
    random_token = new_token()
    assert Client().get(f"/s/{random_token}/").status_code == 404
    forged = signing.dumps(invitation.customer.pk, salt="not-the-unsubscribe-salt", compress=True)
    assert Client().get(f"/u/{forged}/").status_code == 400
    secrets["tokens"] += [random_token, forged]
    # The mail provider's webhook with wrong credentials.
    settings.ANYMAIL = {"WEBHOOK_SECRET": "esp-user:esp-webhook-password-123"}
    webhook = Client().post(
        f"/anymail/{settings.WINBACK_ESP}/tracking/",
        "{}",
        content_type="application/json",
        HTTP_AUTHORIZATION="Basic ZXNwLXVzZXI6d3Jvbmctd2ViaG9vay1wYXNzd29yZA==",  # esp-user:wrong-webhook-password
    )
    assert webhook.status_code == 400
    secrets["passwords"] += ["esp-webhook-password-123", "wrong-webhook-password"]
    # A rejected import: no customer_id column; its row holds an email address.
    admin = Client()
    admin.force_login(administrator)
    upload = SimpleUploadedFile("people.csv", b"name,email\nCarol Secret,carol.secret@example.com\n")
    assert admin.post(reverse("customers:import_new"), {"kind": "customers", "file": upload}).status_code == 302
    assert ImportRun.objects.get().status == ImportRun.Status.REJECTED
    secrets["emails"].append("carol.secret@example.com")
    return secrets


def test_priv_08_security_events_are_logged_escaped_and_without_secrets(
    settings, log_output, manager, other_manager, administrator, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    used = _drive_every_security_event(settings, manager, other_manager, administrator)
    text = log_output.getvalue()
    entries = _entries(log_output)  # every line is one JSON object
    per_type = Counter(e["event"] for e in entries if e.get("event"))
    present = EXPECTED_EVENTS & set(per_type)
    assert present == EXPECTED_EVENTS, EXPECTED_EVENTS - present
    assert {e["logger"] for e in entries if e.get("event")} == {"winback.security"}

    # Failed authorization: both answers, with the request id the response carried.
    denied = _events(log_output, "authz_denied")
    assert {e["fields"]["status"] for e in denied} == {403, 404}
    forbidden = next(e for e in denied if e["fields"]["status"] == 403)
    assert forbidden["request_id"] == used["request_id"]
    assert forbidden["user_id"] == str(manager.pk)
    assert forbidden["ts"].endswith("Z")
    # The hostile username: escaped, on one line; the email username masked.
    failed = [e["fields"]["username"] for e in _events(log_output, "login_failed")]
    assert "mallory\\r\\nINFO forged entry \\x1b[31mred\\x1b[0m" in failed
    assert "v***@example.com" in failed
    assert len(_events(log_output, "login_locked_out")) == 1
    assert "\r" not in text
    assert "\x1b" not in text
    assert len(text.splitlines()) == len(entries)
    # Invalid tokens are named by their hash prefix only.
    not_found = _events(log_output, "survey_link_not_found")
    assert not_found[0]["fields"]["token_hash"] == hash_token(used["tokens"][2])[:8]
    rejected = _events(log_output, "import_rejected")[0]["fields"]
    assert rejected["status"] == "rejected"
    assert rejected["codes"]

    # The whole output: no raw token, password, full email address or answer text.
    forbidden_values = used["tokens"] + used["passwords"] + used["emails"] + used["answers"]
    hits = {value: text.count(value) for value in forbidden_values if value in text}
    assert hits == {}
    # Nor the answers' words once escaped.
    assert "They lied" not in text
    assert "Second answer" not in text
    print(f"PRIV-08: events per type {dict(sorted(per_type.items()))}, forbidden hits {sum(hits.values())}")


def test_sur_08_the_application_log_sink_holds_no_raw_token(log_output):
    invitation, token = make_invitation()
    client = Client()
    open_survey(client, token)
    client.post("/s/answer/", VALID_ANSWERS)
    Client().get(f"/s/{new_token()}/")
    for _ in range(65):
        Client().get(f"/s/{token}/")  # throttled, the address then the token
    # The development server's request line (runserver), and a careless message, both hold it.
    logging.getLogger("django.server").warning('"GET /s/%s/ HTTP/1.1" 302 0', token)
    logging.getLogger("surveys").error("careless: opened /s/%s/ and /u/%s/", token, "MTIz:1tqXyZ:" + token)
    text = log_output.getvalue()
    sinks = {"application log (JSON, redacted)": text.count(token)}
    assert sinks == {"application log (JSON, redacted)": 0}
    assert f"/s/[token:{hash_token(token)[:8]}]/" in text  # the short hash prefix is what remains
    assert "MTIz" not in text  # the unsubscribe token goes as a whole, with its customer id
    print(f"SUR-08: raw-token occurrences per sink {sinks}")


@shared_task
def _task_that_logs():
    logging.getLogger("winback.tests").warning("inside a task for ops@example.com")


def test_a_celery_task_logs_with_its_task_id(log_output):
    result = _task_that_logs.delay()
    entry = next(e for e in _entries(log_output) if e["logger"] == "winback.tests")
    assert entry["task_id"] == result.id
    assert entry["message"] == "inside a task for o***@example.com"
    security_event("after_the_task")
    assert _events(log_output, "after_the_task")[0]["task_id"] == ""


def test_the_redaction_masks_password_fields_and_control_characters_everywhere(log_output):
    token = new_token()
    logging.getLogger("winback.tests").warning(
        "reset for %s", "ann@example.com", extra={"password": "s3cret-value", "note": f"a\nb {token}"}
    )
    security_event("probe", api_key="k-123456", survey_token=token, text="x\x1b[1my\u2028z\x9bq")
    entry, event = _entries(log_output)
    assert entry["message"] == "reset for a***@example.com"
    assert entry["extra"] == {"password": "***", "note": f"a\\nb [token:{hash_token(token)[:8]}]"}
    assert event["fields"] == {
        "api_key": "***",
        "survey_token": f"[token:{hash_token(token)[:8]}]",
        "text": "x\\x1b[1my\\u2028z\\x9bq",
    }
    assert "s3cret-value" not in log_output.getvalue()
    assert "k-123456" not in log_output.getvalue()
    assert clean("password=hunter2; next") == "password=***; next"
