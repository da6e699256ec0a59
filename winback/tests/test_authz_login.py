"""AUTHZ-06 (sign-in abuse, second factor, open redirects) and AUTHZ-07 (session lifetime) from
RELIABILITY.md, and the administrators' two-factor page."""

import datetime as dt
import re
from urllib.parse import urlparse

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from winback.tests.factories import DEMO_TEST_PASSWORD

LOGIN = "/accounts/login/"
TWO_FACTOR = "/staff/two-factor/"
HOUR = 3600


def totp_code(device: TOTPDevice) -> str:
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token():06d}"


def verified_client(user, *, secure: bool = False) -> Client:
    """A client signed in as `user` whose session has verified a TOTP device (enrolled here)."""
    client = Client()
    client.force_login(user)
    device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    response = client.post(TWO_FACTOR, {"token": totp_code(device)}, secure=secure)
    assert response.status_code == 302, response.content.decode()[:500]
    return client


def _sign_in(client: Client, username: str, password: str, *, ip: str = "127.0.0.1", **data):
    return client.post(LOGIN, {"username": username, "password": password, **data}, REMOTE_ADDR=ip)


# AUTHZ-06: throttling --------------------------------------------------------------------------


def test_authz_06_five_wrong_passwords_lock_that_username_and_address_for_15_minutes(manager):
    client = Client()
    statuses = [_sign_in(client, "manager", f"wrong-{n}").status_code for n in range(1, 6)]
    assert statuses == [200, 200, 200, 200, 429]
    locked = _sign_in(client, "manager", DEMO_TEST_PASSWORD)
    assert locked.status_code == 429
    assert "Too many sign-in attempts" in locked.content.decode()
    assert int(locked["Retry-After"]) == 15 * 60
    # The real user elsewhere is not locked out by the attacker.
    elsewhere = _sign_in(Client(), "manager", DEMO_TEST_PASSWORD, ip="10.9.8.7")
    assert elsewhere.status_code == 302
    # After the cool-off the pair may try again.
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=15, seconds=5)):
        assert _sign_in(Client(), "manager", DEMO_TEST_PASSWORD).status_code == 302
    print(
        f"AUTHZ-06: attempts before lockout {statuses.index(429) + 1} (limit {settings.AXES_FAILURE_LIMIT}, "
        f"cool-off {settings.AXES_COOLOFF_TIME}); the same user from another address signed in"
    )


def test_authz_06_twenty_failures_an_hour_from_one_address_lock_the_address(manager):
    client = Client()
    statuses = [_sign_in(client, f"guess{n:02d}", "wrong password").status_code for n in range(50)]
    first_429 = statuses.index(429)
    assert first_429 == settings.WINBACK_LOGIN_IP_FAILURES_PER_HOUR
    assert set(statuses[:first_429]) == {200}
    assert set(statuses[first_429:]) == {429}
    assert _sign_in(client, "manager", DEMO_TEST_PASSWORD).status_code == 429
    assert _sign_in(Client(), "manager", DEMO_TEST_PASSWORD, ip="10.9.8.7").status_code == 302
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1, seconds=5)):
        assert _sign_in(Client(), "manager", DEMO_TEST_PASSWORD).status_code == 302
    print(
        f"AUTHZ-06: 50 usernames from one address: {first_429} failures before the address lock, "
        f"{statuses.count(429)} attempts refused"
    )


def _normalised(response, username: str) -> str:
    body = response.content.decode().replace(username, "USERNAME")
    body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", body)
    return re.sub(r'"X-CSRFToken": "[^"]+"', "CSRF", body)


def test_authz_06_an_unknown_user_and_a_wrong_password_get_the_same_answer(manager):
    unknown = _sign_in(Client(), "nobody-here", "wrong password")
    wrong = _sign_in(Client(), "manager", "wrong password")
    assert unknown.status_code == wrong.status_code == 200
    delta = sum(
        1 for a, b in zip(_normalised(unknown, "nobody-here"), _normalised(wrong, "manager"), strict=False) if a != b
    )
    assert _normalised(unknown, "nobody-here") == _normalised(wrong, "manager")
    assert AccessAttempt.objects.filter(username="nobody-here").exists()
    print(f"AUTHZ-06: enumeration delta {delta} characters (status {unknown.status_code} both)")


# AUTHZ-06: open redirects ----------------------------------------------------------------------

HOSTILE_NEXT = ["//evil.test", "https://evil.test", "/\\evil.test", "///evil.test", "https:evil.test", "\\\\evil.test"]


def _off_site(location: str) -> bool:
    parsed = urlparse(location.replace("\\", "/"))
    return bool(parsed.netloc or parsed.scheme) or "evil.test" in location


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_authz_06_sign_in_never_redirects_off_site(manager, target):
    response = _sign_in(Client(), "manager", DEMO_TEST_PASSWORD, next=target)
    assert response.status_code == 302
    assert not _off_site(response["Location"]), response["Location"]
    assert response["Location"] == reverse("home")


def test_authz_06_off_site_redirect_count_is_zero_and_a_local_next_is_kept(manager):
    off_site = 0
    for target in HOSTILE_NEXT:
        off_site += _off_site(_sign_in(Client(), "manager", DEMO_TEST_PASSWORD, next=target)["Location"])
    kept = _sign_in(Client(), "manager", DEMO_TEST_PASSWORD, next="/cases/")
    assert kept["Location"] == "/cases/"
    assert off_site == 0
    print(f"AUTHZ-06: off-site redirects {off_site} of {len(HOSTILE_NEXT)} hostile next= values")


# AUTHZ-06: second factor -----------------------------------------------------------------------


@override_settings(WINBACK_REQUIRE_ADMIN_2FA=True)
def test_authz_06_an_administrator_without_a_second_factor_reaches_no_staff_page(client, administrator, manager):
    client.force_login(administrator)
    for url in ("/admin/", "/customers/", "/staff/users/", "/cases/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == f"{TWO_FACTOR}?next={url}", url

    enrol = client.get(f"{TWO_FACTOR}?next=/admin/")
    content = enrol.content.decode()
    assert enrol.status_code == 200
    assert "otpauth://totp/Winback%3Aadmin?secret=" in content
    assert 'src="data:image/svg+xml' in content
    device = TOTPDevice.objects.get(user=administrator, confirmed=False)
    wrong = client.post(TWO_FACTOR, {"token": "000000" if totp_code(device) != "000000" else "111111"})
    assert wrong.status_code == 200
    assert "That code is not right" in wrong.content.decode()
    assert client.get("/admin/").status_code == 302

    too_soon = client.post(TWO_FACTOR, {"token": totp_code(device), "next": "/admin/"})
    assert "Too many wrong codes" in too_soon.content.decode()  # django-otp's back-off after a wrong code
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3)):
        device.refresh_from_db()
        done = client.post(TWO_FACTOR, {"token": totp_code(device), "next": "/admin/"})
    assert done.status_code == 302
    assert done["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    device.refresh_from_db()
    assert device.confirmed

    # A new sign-in asks for a code again (no new enrolment), and a manager is never asked.
    again = Client()
    again.force_login(administrator)
    assert again.get("/admin/")["Location"].startswith(TWO_FACTOR)
    assert "otpauth://" not in again.get(TWO_FACTOR).content.decode()
    manager_client = Client()
    manager_client.force_login(manager)
    assert manager_client.get("/customers/").status_code == 200
    print(
        "AUTHZ-06: administrator without a second factor: /admin/ and staff pages -> 302 to two-factor; "
        "after a TOTP code: 200"
    )


@override_settings(WINBACK_REQUIRE_ADMIN_2FA=True)
@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_the_two_factor_page_never_redirects_off_site(administrator, target):
    client = Client()
    client.force_login(administrator)
    device = TOTPDevice.objects.create(user=administrator, name="phone", confirmed=True)
    response = client.post(TWO_FACTOR, {"token": totp_code(device), "next": target})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_the_two_factor_page_is_for_administrators_only(client, manager, executive, administrator):
    assert client.get(TWO_FACTOR)["Location"].startswith(LOGIN)
    assert client.post(TWO_FACTOR)["Location"].startswith(LOGIN)
    for user in (manager, executive):
        client.force_login(user)
        assert client.get(TWO_FACTOR).status_code == 403
        assert client.post(TWO_FACTOR, {"token": "123456"}).status_code == 403
    assert not TOTPDevice.objects.exists()


def test_the_two_factor_page_keeps_one_pending_secret_and_bounded_queries(admin_client, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        first = admin_client.get(TWO_FACTOR)
    second = admin_client.get(TWO_FACTOR)
    assert first.status_code == second.status_code == 200
    secret = re.search(r'class="otp-secret">([A-Z2-7]+)<', first.content.decode()).group(1)
    assert secret in second.content.decode()
    assert TOTPDevice.objects.count() == 1


# AUTHZ-07: session lifetime --------------------------------------------------------------------

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def _status(client: Client, url: str = "/customers/") -> int:
    return client.get(url).status_code


def test_authz_07_a_session_ends_after_two_idle_hours(manager):
    outcomes = {}
    with time_machine.travel(T0, tick=False) as clock:
        client = Client()
        client.force_login(manager)
        assert _status(client) == 200
        clock.shift(2 * HOUR - 1)
        outcomes["idle 2h-1s"] = _status(client)
        clock.shift(2 * HOUR + 1)
        response = client.get("/customers/")
        outcomes["idle 2h+1s"] = response.status_code
        assert response["Location"] == f"{LOGIN}?next=/customers/"
        outcomes["after"] = _status(client)
    assert outcomes == {"idle 2h-1s": 200, "idle 2h+1s": 302, "after": 302}
    print(f"AUTHZ-07: idle limit {settings.WINBACK_SESSION_IDLE_SECONDS}s: {outcomes}")


def test_authz_07_a_session_ends_twelve_hours_after_sign_in_however_active(manager):
    outcomes = {}
    with time_machine.travel(T0, tick=False) as clock:
        client = Client()
        client.force_login(manager)
        for _ in range(6):  # a request every 1 h 59 min: never idle
            clock.shift(2 * HOUR - 60)
            assert _status(client) == 200
        clock.shift(12 * HOUR - 1 - 6 * (2 * HOUR - 60))
        outcomes["absolute 12h-1s"] = _status(client)
        clock.shift(2)
        outcomes["absolute 12h+1s"] = _status(client)
    assert outcomes == {"absolute 12h-1s": 200, "absolute 12h+1s": 302}
    print(f"AUTHZ-07: absolute limit {settings.WINBACK_SESSION_ABSOLUTE_SECONDS}s: {outcomes}")


def test_authz_07_an_htmx_request_past_the_limit_redirects_the_whole_page(manager):
    with time_machine.travel(T0, tick=False) as clock:
        client = Client()
        client.force_login(manager)
        clock.shift(2 * HOUR + 1)
        response = client.get("/customers/", headers={"HX-Request": "true"})
    assert response["HX-Redirect"] == f"{LOGIN}?next=/customers/"


def test_authz_07_the_old_cookie_is_dead_after_sign_out(manager):
    client = Client()
    assert _sign_in(client, "manager", DEMO_TEST_PASSWORD).status_code == 302
    old_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert _status(client) == 200
    assert client.post(reverse("logout")).status_code == 302
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = old_key
    response = replay.get("/customers/")
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)
    assert not Session.objects.filter(session_key=old_key).exists()
    print("AUTHZ-07: replay of the signed-out cookie -> 302 to sign-in")


def test_authz_07_signing_in_rotates_the_session_key(manager):
    client = Client()
    session = client.session
    session["before"] = "anonymous visit"
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    before = session.session_key
    assert _sign_in(client, "manager", DEMO_TEST_PASSWORD).status_code == 302
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()
    print("AUTHZ-07: session key changed on sign-in: yes; old key deleted: yes")
