"""Anti-automation on the public survey pages (SUR-12): 30 a minute per token, 60 a minute and
600 an hour per address, a friendly 429, one security-log event per throttled address."""

import datetime as dt
import logging

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from surveys.ratelimit import IP_RATES, TOKEN_RATE, window_end
from surveys.tests.test_public_support import (  # noqa: F401
    VALID_ANSWERS,
    _fresh_rate_limits,
    make_invitation,
    open_survey,
    rows_for,
)
from surveys.tokens import new_token

pytestmark = pytest.mark.django_db


def _served_before_429(responses) -> int:
    statuses = [r.status_code for r in responses]
    return statuses.index(429) if 429 in statuses else len(statuses)


def _throttle_events(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "winback.security" and "survey_rate_limited" in r.getMessage()]


def test_sur_12_a_one_token_is_throttled_after_30_requests_a_minute(caplog):
    assert TOKEN_RATE == "30/m"
    assert IP_RATES == ("60/m", "600/h")
    invitation, token = make_invitation()
    with time_machine.travel(timezone.now(), tick=False):
        client = Client()
        open_survey(client, token)
        responses = [client.post("/s/answer/", {"q3": "9"}) for _ in range(40)]
    served = _served_before_429(responses)
    assert served == 30
    assert {r.status_code for r in responses[:30]} == {400}
    assert {r.status_code for r in responses[30:]} == {429}
    page = responses[-1]
    assert "Too many requests" in page.content.decode()
    assert page["Retry-After"] == "60"
    assert "no-store" in page["Cache-Control"]
    assert rows_for(invitation) == (0, 0)
    assert len(_throttle_events(caplog)) == 1
    print(f"SUR-12 (a): one token, 40 POSTs in one minute: served before 429: {served}")


def test_sur_12_b_one_address_guessing_tokens_is_throttled_and_finds_nothing(caplog):
    _invitation, _token = make_invitation()
    caplog.set_level(logging.INFO, logger="winback.security")
    with time_machine.travel(timezone.now(), tick=False):
        client = Client()
        responses = [client.get(f"/s/{new_token()}/") for _ in range(10_000)]
    served = _served_before_429(responses)
    statuses = [r.status_code for r in responses]
    assert served <= 60
    assert set(statuses[:served]) == {404}
    assert set(statuses[served:]) == {429}
    valid_found = sum(1 for s in statuses if s not in (404, 429))
    assert valid_found == 0
    events = _throttle_events(caplog)
    assert len(events) == 1
    assert "address=127.0.0.1" in events[0].getMessage()
    print(
        f"SUR-12 (b): one address, 10,000 random tokens: served before 429: {served}, valid tokens found "
        f"{valid_found}, security-log events {len(events)}"
    )


def _just_after_an_hourly_window_of(address: str) -> dt.datetime:
    """The fixed windows end at times ≡ crc32(address) (mod period); twelve minutes that straddle
    an end would see two hourly allowances. Start just after one ends."""
    return dt.datetime.fromtimestamp(window_end(address, 3600) + 1, tz=dt.UTC)


def test_sur_12_b_the_hourly_limit_holds_across_minutes():
    with time_machine.travel(_just_after_an_hourly_window_of("127.0.0.1"), tick=False) as traveller:
        client = Client()
        served = 0
        for _minute in range(12):
            for _ in range(60):
                served += client.get(f"/s/{new_token()}/").status_code == 404
            traveller.shift(61)
    assert served <= 600
    print(f"SUR-12 (b): 720 requests over 12 minutes from one address: served {served} (hourly limit 600)")


def test_sur_12_c_a_normal_respondent_is_never_throttled():
    false_positives = 0
    for _ in range(5):  # five colleagues answering from one office address
        invitation, token = make_invitation()
        client = Client()
        responses = [
            client.get(f"/s/{token}/"),
            client.get("/s/answer/"),
            client.post("/s/answer/", {"q3": "9"}),  # a mistake first
            client.post("/s/answer/", VALID_ANSWERS),
            client.get("/s/answer/"),
            client.get(f"/s/{token}/"),  # opens the email again later
            client.get("/s/answer/"),
        ]
        false_positives += sum(r.status_code == 429 for r in responses)
        assert rows_for(invitation)[0] == 1
    assert false_positives == 0
    print(f"SUR-12 (c): 5 respondents x 7 requests from one address: false positives {false_positives}")


def test_the_unsubscribe_link_is_rate_limited_too():
    with time_machine.travel(timezone.now(), tick=False):
        client = Client()
        statuses = [client.get("/u/not-a-token/").status_code for _ in range(35)]
    assert statuses[:30] == [400] * 30
    assert statuses[30:] == [429] * 5


def test_behind_a_proxy_each_client_address_from_the_configured_header_has_its_own_limit(settings):
    settings.RATELIMIT_IP_META_KEY = "HTTP_X_FORWARDED_FOR"
    with time_machine.travel(timezone.now(), tick=False):
        client = Client()
        first = [client.get(f"/s/{new_token()}/", HTTP_X_FORWARDED_FOR="203.0.113.7, 10.0.0.1") for _ in range(61)]
        other = client.get(f"/s/{new_token()}/", HTTP_X_FORWARDED_FOR="198.51.100.9, 10.0.0.1")
    assert first[-1].status_code == 429
    assert {r.status_code for r in first[:60]} == {404}
    assert other.status_code == 404
