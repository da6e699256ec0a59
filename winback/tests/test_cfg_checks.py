"""CFG-01 to CFG-04 (RELIABILITY.md): the deployment checks, the security headers of every page,
the cookies' attributes and the password hashing and rules."""

import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client, override_settings
from django.urls import get_resolver, path, reverse

import winback.urls
from surveys.tests.test_public_support import _fresh_rate_limits, make_invitation  # noqa: F401
from winback.settings import base as base_settings
from winback.tests.factories import DEMO_TEST_PASSWORD, UserFactory
from winback.tests.test_authz_login import verified_client
from winback.tests.test_url_access import _concrete, _patterns

ROOT = Path(__file__).resolve().parents[2]
LEAK = "cfg01-leak-marker"

# The production values of the settings a test client can see (CFG-01 asserts production has them).
PRODUCTION_LIKE = {
    "SECURE_SSL_REDIRECT": True,
    "SECURE_HSTS_SECONDS": 31536000,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
    "SECURE_HSTS_PRELOAD": True,
    "SESSION_COOKIE_SECURE": True,
    "CSRF_COOKIE_SECURE": True,
    "SESSION_COOKIE_NAME": "__Host-sessionid",
    "CSRF_COOKIE_NAME": "__Host-csrftoken",
    "WINBACK_REQUIRE_ADMIN_2FA": True,
}


def _boom(request):
    raise RuntimeError(f"{LEAK} SELECT secret FROM auth_user {ROOT}/winback/settings/production.py")


urlpatterns = [path("__boom__/", _boom), *winback.urls.urlpatterns]
handler403 = winback.urls.handler403
handler404 = winback.urls.handler404
handler500 = winback.urls.handler500


def _production_env() -> dict:
    ours = ("DJANGO_", "DATABASE_URL", "CELERY_", "CACHE_URL", "WINBACK_", "RATELIMIT_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env.update(
        DJANGO_SETTINGS_MODULE="winback.settings.production",
        DJANGO_SECRET_KEY="Zq8vR2mN5xL1cT7bW4yH9kP3sD6fG0jA-production-like-secret-key",
        DJANGO_ALLOWED_HOSTS="winback.example.com",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://winback.example.com",
        DJANGO_SITE_URL="https://winback.example.com",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        CACHE_URL="redis://127.0.0.1:6379/1",
        WINBACK_EMAIL_HASH_KEY="cfg-test-email-hash-key",
        DATABASE_URL="postgres://winback:winback@127.0.0.1:5432/winback",
    )
    return env


def _production(*names: str) -> dict:
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n, None) for n in {list(names)!r}}}, default=str))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=_production_env(), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    import json

    return json.loads(result.stdout.strip().splitlines()[-1])


# CFG-01 ------------------------------------------------------------------------------------------


def test_cfg_01_production_settings_pass_the_deploy_checks_with_nothing_silenced():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    issues = re.findall(r"^\?: \((\S+)\)|^\S+: \((\S+)\)", output, flags=re.MULTILINE)
    values = _production("DEBUG", "SECRET_KEY", "SILENCED_SYSTEM_CHECKS", *PRODUCTION_LIKE)
    silenced = values["SILENCED_SYSTEM_CHECKS"]
    assert result.returncode == 0, output
    assert "no issues" in output
    assert values["DEBUG"] is False
    assert len(values["SECRET_KEY"]) >= 50
    assert len(set(values["SECRET_KEY"])) >= 5
    assert silenced == []
    assert {name: values[name] for name in PRODUCTION_LIKE} == PRODUCTION_LIKE
    print(f"CFG-01: deploy-check issues {len(issues)}, silenced IDs {silenced}")


@override_settings(ROOT_URLCONF=__name__, DEBUG=False)
def test_cfg_01_a_crash_answers_a_generic_500_without_traceback_settings_sql_or_paths(db):
    client = Client(raise_request_exception=False)
    response = client.get("/__boom__/")
    body = response.content.decode()
    markers = [LEAK, "Traceback", "SELECT", "auth_user", str(ROOT), ".py", "SECRET_KEY", "DJANGO_", "settings"]
    leaked = [marker for marker in markers if marker in body]
    assert response.status_code == 500
    assert "Something went wrong" in body
    assert leaked == []
    print(f"CFG-01: 500 body {len(body)} bytes, leaked markers {len(leaked)}")


# CFG-02 ------------------------------------------------------------------------------------------

NO_STORE_PREFIXES = ("/s/", "/u/", "/surveys/", "/cases/", "/dashboard/", "/customers/")


def _crawl_urls() -> list[str]:
    urls = {_concrete(route) for _name, route in _patterns(get_resolver(winback.urls))}
    urls |= {"/admin/", "/admin/login/", "/no-such-page/", "/__boom__/"}
    for model in admin.site._registry:
        meta = model._meta
        urls.add(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
    return sorted(urls)


def _header_problems(url: str, response) -> list[str]:
    problems = []
    hsts = response.get("Strict-Transport-Security", "")
    match = re.search(r"max-age=(\d+)", hsts)
    if not match or int(match.group(1)) < 31536000 or "includeSubDomains" not in hsts:
        problems.append(f"HSTS {hsts!r}")
    csp = response.get("Content-Security-Policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    for directive in ("object-src", "base-uri", "frame-ancestors"):
        if directives.get(directive) != ["'none'"]:
            problems.append(f"CSP {directive}")
    script = directives.get("script-src", [])
    if not any(source.startswith("'nonce-") for source in script) or {"'unsafe-inline'", "'unsafe-eval'"} & set(script):
        problems.append(f"CSP script-src {script}")
    expected = {
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Referrer-Policy": "no-referrer" if url.startswith(("/s/", "/u/")) else "same-origin",
    }
    problems += [f"{name} {response.get(name)!r}" for name, value in expected.items() if response.get(name) != value]
    needs_no_store = url.startswith(NO_STORE_PREFIXES) or "export" in url
    if needs_no_store and "no-store" not in response.get("Cache-Control", ""):
        problems.append(f"Cache-Control {response.get('Cache-Control')!r}")
    return problems


@override_settings(ROOT_URLCONF=__name__, **PRODUCTION_LIKE)
def test_cfg_02_every_page_carries_the_full_set_of_security_headers(db, administrator):
    staff = verified_client(administrator, secure=True)
    anonymous = Client(raise_request_exception=False)
    staff.raise_request_exception = False
    invitation, token = make_invitation()
    urls = [*_crawl_urls(), f"/s/{token}/", "/s/answer/"]
    checked, missing, statuses = 0, {}, {}
    for client in (anonymous, staff):
        for url in urls:
            response = client.get(url, secure=True)
            checked += 1
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            problems = _header_problems(url, response)
            if problems:
                missing[(url, client is staff)] = problems
        # Sign-in posts and the forced 500 of a staff user too.
    response = anonymous.post(reverse("login"), {"username": "nobody", "password": "x"}, secure=True)
    checked += 1
    if problems := _header_problems(reverse("login"), response):
        missing[("login POST", False)] = problems
    assert statuses.get(500, 0) == 2, statuses  # the forced 500, anonymous and staff: nothing else crashed
    assert statuses.get(404, 0) >= 2
    assert missing == {}
    print(
        f"CFG-02: URLs checked {checked} ({len(urls)} paths x 2 clients + 1 POST), statuses {statuses}, "
        f"URLs missing any header {len(missing)}"
    )


@pytest.mark.browser
def test_cfg_02_a_survey_page_cannot_be_framed_by_another_origin(page, live_server, short_lived_db_connections):
    _invitation, token = make_invitation()
    survey = f"{live_server.url}/s/{token}/"
    pages = {
        "/frame.html": f'<iframe src="{survey}"></iframe>',
        "/control.html": '<iframe src="http://evil.test/plain.html"></iframe>',  # a frame without our headers
        "/plain.html": "<form><p>plain page</p></form>",
    }
    page.route(
        "http://evil.test/**",
        lambda route: route.fulfill(body=pages[route.request.url[len("http://evil.test") :]], content_type="text/html"),
    )
    page.goto("http://evil.test/control.html")
    page.wait_for_timeout(500)
    assert page.frames[1].evaluate("document.querySelectorAll('form').length") == 1  # framing works here

    page.goto("http://evil.test/frame.html")
    page.wait_for_timeout(1500)
    child = page.frames[1]
    forms = child.evaluate("document.querySelectorAll('form').length") if child.url.startswith(live_server.url) else 0
    assert forms == 0
    assert child.url.startswith("chrome-error://"), child.url
    print(f"CFG-02: survey page in a foreign iframe: blocked (frame shows {child.url}); control frame loaded")


# CFG-03 ------------------------------------------------------------------------------------------


def _attributes(response, name: str) -> dict:
    morsel = response.cookies[name]
    return {
        "Secure": bool(morsel["secure"]),
        "HttpOnly": bool(morsel["httponly"]),
        "SameSite": morsel["samesite"],
        "Path": morsel["path"],
        "Domain": morsel["domain"] or "-",
    }


@override_settings(**PRODUCTION_LIKE)
def test_cfg_03_session_and_csrf_cookies_are_host_locked_secure_and_lax(db, manager):
    client = Client()
    table = {}
    page = client.get(reverse("login"), secure=True)
    table["csrf (sign-in page)"] = _attributes(page, "__Host-csrftoken")
    signed_in = client.post(reverse("login"), {"username": "manager", "password": DEMO_TEST_PASSWORD}, secure=True)
    assert signed_in.status_code == 302
    table["session (staff sign-in)"] = _attributes(signed_in, "__Host-sessionid")

    _invitation, token = make_invitation()
    visitor = Client()
    opened = visitor.get(f"/s/{token}/", secure=True)
    assert opened.status_code == 302
    assert opened["Location"] == "/s/answer/"
    table["session (survey started)"] = _attributes(opened, "__Host-sessionid")
    form = visitor.get("/s/answer/", secure=True)
    assert form.status_code == 200
    table["csrf (survey form)"] = _attributes(form, "__Host-csrftoken")

    assert {"sessionid", "csrftoken"}.isdisjoint(signed_in.cookies.keys() | opened.cookies.keys())
    missing = 0
    for cookie, attributes in table.items():
        wanted = {"Secure": True, "SameSite": "Lax", "Path": "/", "Domain": "-"}
        if cookie.startswith("session"):
            wanted["HttpOnly"] = True
        missing += sum(1 for key, value in wanted.items() if attributes[key] != value)
    print("CFG-03: cookie attributes")
    for cookie, attributes in table.items():
        print(f"  {cookie:26} " + " ".join(f"{key}={value}" for key, value in attributes.items()))
    print(f"CFG-03: missing attributes {missing}")
    assert missing == 0


# CFG-04 ------------------------------------------------------------------------------------------

PASSPHRASE_64 = "winter harbour lanterns drift past eleven quiet copper bridges ok"[:64]


def _password_column(user) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT password FROM auth_user WHERE id = %s", [user.pk])
        return cursor.fetchone()[0]


@override_settings(PASSWORD_HASHERS=base_settings.PASSWORD_HASHERS)
def test_cfg_04_passwords_are_hashed_with_argon2id_and_legacy_hashes_upgrade_on_sign_in(db):
    user = UserFactory(username="hashed", role="Account managers")
    stored = _password_column(user)
    assert stored.startswith("argon2$argon2id$")
    parameters = stored.split("$")[3]  # e.g. m=102400,t=2,p=8

    legacy = UserFactory(username="legacy", role="Account managers")
    from django.contrib.auth.hashers import make_password

    legacy.password = make_password(DEMO_TEST_PASSWORD, hasher="pbkdf2_sha256")
    legacy.save(update_fields=["password"])
    assert _password_column(legacy).startswith("pbkdf2_sha256$")
    response = Client().post(reverse("login"), {"username": "legacy", "password": DEMO_TEST_PASSWORD})
    assert response.status_code == 302
    assert _password_column(legacy).startswith("argon2$argon2id$")

    durations = []
    for _ in range(20):
        client = Client()
        started = time.perf_counter()
        response = client.post(reverse("login"), {"username": "hashed", "password": DEMO_TEST_PASSWORD})
        durations.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 302
    p95 = statistics.quantiles(durations, n=20)[18]
    assert parameters == "m=47104,t=1,p=1"
    print(
        f"CFG-04: hasher argon2id ({parameters}), legacy pbkdf2_sha256 upgraded on sign-in, "
        f"login p95 {p95:.0f} ms, median {statistics.median(durations):.0f} ms over {len(durations)} sign-ins"
    )
    assert p95 < 500


def test_cfg_04_common_passwords_are_refused_and_a_64_character_passphrase_is_accepted(manager_client, manager):
    with pytest.raises(ValidationError) as refused:
        validate_password("password1234", user=manager)
    assert any(error.code == "password_too_common" for error in refused.value.error_list)
    for weak, code in (("short pass", "password_too_short"), ("384729105563", "password_entirely_numeric")):
        with pytest.raises(ValidationError) as error:
            validate_password(weak, user=manager)
        assert code in {e.code for e in error.value.error_list}

    assert len(PASSPHRASE_64) == 64
    rejected = manager_client.post(
        reverse("password_change"),
        {"old_password": DEMO_TEST_PASSWORD, "new_password1": "password1234", "new_password2": "password1234"},
    )
    assert rejected.status_code == 200
    assert rejected.context["form"].errors["new_password2"]
    accepted = manager_client.post(
        reverse("password_change"),
        {"old_password": DEMO_TEST_PASSWORD, "new_password1": PASSPHRASE_64, "new_password2": PASSPHRASE_64},
    )
    assert accepted.status_code == 302
    manager.refresh_from_db()
    assert manager.check_password(PASSPHRASE_64)
    print("CFG-04: 'password1234' rejected (common), 64-character passphrase accepted")
