"""CFG-01 from the start: the production settings and a generic 500 page."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client, override_settings
from django.urls import path

ROOT = Path(__file__).resolve().parents[2]


def _boom(request):
    raise RuntimeError("secret-marker /etc/passwd SELECT * FROM customers_customer")


urlpatterns = [path("boom/", _boom)]


@override_settings(ROOT_URLCONF=__name__, DEBUG=False)
def test_a_crash_shows_a_generic_500_page_without_details(db):
    client = Client(raise_request_exception=False)
    response = client.get("/boom/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong" in body
    for leak in ("secret-marker", "Traceback", "SELECT", "/etc/passwd", "settings"):
        assert leak not in body


def _production_env(**extra):
    ours = ("DJANGO_", "DATABASE_URL", "CELERY_", "CACHE_URL", "WINBACK_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env.update(
        DJANGO_SETTINGS_MODULE="winback.settings.production",
        DJANGO_SECRET_KEY="p" * 20 + "roduction-secret-key-with-enough-entropy-1234567890",
        DJANGO_ALLOWED_HOSTS="winback.example.com",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        CACHE_URL="redis://127.0.0.1:6379/1",
        WINBACK_EMAIL_HASH_KEY="settings-test-hash-key",
        DATABASE_URL="postgres://winback:winback@127.0.0.1:5432/winback",
    )
    env.update(extra)
    return env


def test_production_settings_pass_the_deployment_checks():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = _production_env()
    del env["DJANGO_SECRET_KEY"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("DEBUG", False),
        ("SESSION_COOKIE_SECURE", True),
        ("CSRF_COOKIE_SECURE", True),
        ("SESSION_COOKIE_NAME", "__Host-sessionid"),
        ("CSRF_COOKIE_NAME", "__Host-csrftoken"),
        ("SECURE_HSTS_SECONDS", 31536000),
        ("SECURE_SSL_REDIRECT", True),
    ],
)
def test_production_settings_are_https_only(setting, expected):
    code = f"from django.conf import settings; import django; django.setup(); print(repr(settings.{setting}))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=_production_env(), capture_output=True, text=True, timeout=120
    )
    assert result.stdout.strip() == repr(expected), result.stderr
