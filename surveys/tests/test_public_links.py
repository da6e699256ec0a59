"""The emailed link: tokens (SUR-01), bad links indistinguishable (SUR-03), expiry (SUR-04), mail
scanners (SUR-07), no token leaks (SUR-08) and the fresh link after expiry."""

import inspect
import logging
import re
import statistics
import time

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone

from surveys import tokens
from surveys.models import InvitationStatus, Response, SurveyLink
from surveys.tests.test_public_support import (  # noqa: F401
    VALID_ANSWERS,
    _fresh_rate_limits,
    expires_at,
    fresh_link_template,
    make_invitation,
    rows_for,
    second,
)

pytestmark = pytest.mark.django_db


def _table_text(*tables: str) -> str:
    with connection.cursor() as cursor:
        chunks = []
        for table in tables:
            cursor.execute(f"SELECT t::text FROM {table} t")  # noqa: S608 - fixed table names
            chunks.extend(row[0] for row in cursor.fetchall())
    return "\n".join(chunks)


def test_sur_01_tokens_are_256_bit_unique_from_secrets_and_never_stored():
    generated = [tokens.new_token() for _ in range(100_000)]
    assert min(len(t) for t in generated) >= 43
    assert all(tokens.TOKEN_PATTERN.match(t) for t in generated)
    collisions = len(generated) - len(set(generated))
    assert collisions == 0
    assert "secrets.token_urlsafe(32)" in inspect.getsource(tokens.new_token)

    invitation, first = make_invitation()
    minted = [first] + [tokens.mint_link(invitation, valid_days=30) for _ in range(1_999)]
    at_rest = _table_text("surveys_surveylink", "surveys_invitation", "django_session")
    hits = sum(1 for token in minted if token in at_rest)
    assert hits == 0
    assert SurveyLink.objects.filter(token_hash=tokens.hash_token(first)).count() == 1
    bits = 32 * 8  # token_urlsafe(32): 32 random bytes, 43 URL-safe characters
    print(
        f"SUR-01: entropy {bits} bits (43 characters from secrets.token_urlsafe(32)), "
        f"100,000 tokens, collisions {collisions}, raw-token hits at rest {hits} of {len(minted)} minted"
    )


def test_sur_03_unknown_malformed_foreign_and_revoked_links_are_the_same_plain_404(settings):
    settings.RATELIMIT_ENABLE = False  # 800 requests from one address; the limits are tested elsewhere
    _invitation, _token = make_invitation()
    revoked_invitation, revoked = make_invitation()
    SurveyLink.objects.filter(invitation=revoked_invitation).update(revoked_at=timezone.now())
    cancelled_invitation, cancelled = make_invitation()
    cancelled_invitation.status = InvitationStatus.CANCELLED
    cancelled_invitation.save()
    cases = {
        "random token": lambda: tokens.new_token(),
        "truncated token": lambda: _token[:-5],
        "token of a cancelled invitation": lambda: cancelled,
        "revoked token": lambda: revoked,
    }
    client = Client()
    timings = {case: [] for case in cases}
    statuses, bodies, templates = {c: set() for c in cases}, {c: set() for c in cases}, {c: set() for c in cases}
    for _ in range(200):  # the cases interleaved, so load on the machine falls on all alike
        for case, token in cases.items():
            url = f"/s/{token()}/"
            started = time.perf_counter()
            response = client.get(url)
            timings[case].append((time.perf_counter() - started) * 1000)
            statuses[case].add(response.status_code)
            bodies[case].add(len(re.sub(rb'"X-CSRFToken": "[^"]*"', b"", response.content)))
            templates[case].add(tuple(t.name for t in response.templates))
    results = {
        case: (statuses[case], bodies[case], templates[case], statistics.median(timings[case])) for case in cases
    }
    assert all(s == {404} for s in statuses.values())
    assert len(set().union(*bodies.values())) == 1  # one body length for all
    assert len(set().union(*templates.values())) == 1  # one template for all
    medians = [r[3] for r in results.values()]
    delta = max(medians) - min(medians)
    assert delta < 5
    assert rows_for(revoked_invitation) == (0, 0)
    for case, (statuses, _b, templates, median) in results.items():
        print(f"SUR-03: {case:<32} status {sorted(statuses)} template {next(iter(templates))[0]} p50 {median:.2f} ms")
    print(f"SUR-03: p50 timing difference {delta:.2f} ms (limit 5 ms), 200 requests per case")


def test_sur_04_a_link_works_until_it_expires_and_an_answer_begun_before_may_still_be_sent():
    start = timezone.now().replace(microsecond=0)
    invitation, token = make_invitation(now=start, valid_days=30)
    deadline = expires_at(invitation)

    with time_machine.travel(deadline - second(), tick=False):
        before = Client()
        opened = before.get(f"/s/{token}/")
        assert opened.status_code == 302
        assert before.get("/s/answer/").status_code == 200

    with time_machine.travel(deadline + second(), tick=False):
        late = Client().get(f"/s/{token}/")
        html = late.content.decode()
        assert late.status_code == 410
        assert "This link has expired" in html
        assert "Email me a new link" in html
        assert invitation.customer.email not in html
        assert invitation.customer.name.split()[0] not in html

    with time_machine.travel(deadline + second(3600), tick=False):
        finished = before.post("/s/answer/", VALID_ANSWERS)
        assert finished.status_code == 302
    assert Response.objects.filter(invitation=invitation).count() == 1
    print(
        "SUR-04: TTL 30 days; expires_at - 1 s -> form (302 then 200); expires_at + 1 s -> expired page (410, "
        "no address shown); opened before expiry, submitted 1 h after -> stored"
    )


def test_an_expired_page_sends_one_fresh_link_to_the_address_on_file_at_most_every_ten_minutes():
    fresh_link_template()
    start = timezone.now().replace(microsecond=0)
    invitation, token = make_invitation(now=start, valid_days=30)
    with time_machine.travel(expires_at(invitation) + second(60), tick=False):
        client = Client()
        client.get(f"/s/{token}/")
        first = client.post("/s/new-link/", {"token": token})
        second_try = client.post("/s/new-link/", {"token": token})
    assert first.status_code == second_try.status_code == 200
    assert first.content == second_try.content  # the page never tells whether a mail went out
    assert invitation.customer.email not in first.content.decode()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [f"Olivia Quist <{invitation.customer.email}>"]
    new_token = re.search(r"/s/([A-Za-z0-9_-]{43})/", message.body).group(1)
    assert new_token != token
    assert SurveyLink.objects.filter(invitation=invitation, purpose="fresh").count() == 1

    with time_machine.travel(expires_at(invitation) + second(60 + 601), tick=False):
        Client().post("/s/new-link/", {"token": token})
        assert len(mail.outbox) == 2
        reopened = Client().get(f"/s/{new_token}/")
        assert reopened.status_code == 302


def test_no_fresh_link_goes_to_someone_who_unsubscribed():
    fresh_link_template()
    start = timezone.now()
    invitation, token = make_invitation(now=start, valid_days=1)
    invitation.customer.survey_opt_out_at = start
    invitation.customer.save()
    with time_machine.travel(start + second(2 * 86400), tick=False):
        response = Client().post("/s/new-link/", {"token": token})
    assert response.status_code == 200
    assert mail.outbox == []


def test_sur_07_mail_scanners_only_count_opens_and_a_person_can_still_answer():
    invitation, token = make_invitation()

    def snapshot():
        invitation.refresh_from_db()
        fields = {f.attname: getattr(invitation, f.attname) for f in invitation._meta.concrete_fields}
        fields.pop("opened_at"), fields.pop("open_count")
        links = list(SurveyLink.objects.filter(invitation=invitation).values())
        return fields, links, rows_for(invitation)

    before = snapshot()
    for method in ("get", "head"):
        for _ in range(5):
            response = getattr(Client(), method)(f"/s/{token}/")
            assert response.status_code == 302
    assert Client().post(f"/s/{token}/").status_code == 405
    changes = 0 if snapshot() == before else 1
    assert changes == 0
    invitation.refresh_from_db()
    assert invitation.open_count == 10
    first_open = invitation.opened_at
    assert first_open is not None

    person = Client()
    person.get(f"/s/{token}/", follow=True)
    assert person.post("/s/answer/", VALID_ANSWERS).status_code == 302
    invitation.refresh_from_db()
    assert invitation.opened_at == first_open
    assert rows_for(invitation)[0] == 1
    print(
        f"SUR-07: 5 GET + 5 HEAD without cookies: state changes 0 (open_count {invitation.open_count - 1} "
        "before the person), token not consumed, the person completed"
    )


def test_sur_08_the_token_leaves_the_url_and_appears_in_no_log_or_table(caplog):
    caplog.set_level(logging.DEBUG)
    invitation, token = make_invitation()
    revoked_invitation, revoked = make_invitation()
    SurveyLink.objects.filter(invitation=revoked_invitation).update(revoked_at=timezone.now())
    client = Client()
    opened = client.get(f"/s/{token}/")
    assert opened.status_code == 302
    assert opened["Location"] == "/s/answer/"
    page = client.get("/s/answer/")
    html = page.content.decode()
    assert token not in html
    external = re.findall(r'(?:src|href|action)="((?:https?:)?//[^"]*)"', html)
    assert external == []
    client.post("/s/answer/", VALID_ANSWERS, follow=True)
    Client().get(f"/s/{revoked}/")  # a 404 that Django would log with its path
    for _ in range(65):
        Client().get(f"/s/{token}/")  # throttled: 429s, also unlogged
    sinks = {
        "app and request logs": sum(t in caplog.text for t in (token, revoked)),
        "error mails": sum(t in m.body for m in mail.outbox for t in (token, revoked)),
        "database rows": sum(
            t in _table_text("surveys_surveylink", "surveys_invitation", "django_session", "surveys_answer")
            for t in (token, revoked)
        ),
    }
    assert sinks == {"app and request logs": 0, "error mails": 0, "database rows": 0}
    assert "survey_link_not_found token_hash=" in caplog.text
    print(f"SUR-08: URL after open /s/answer/, third-party resources 0, raw-token occurrences per sink {sinks}")
