"""`make run` must not rot: the embedded default (local settings, SQLite file, kombu's filesystem
broker, no server) migrates, loads the demo data, and a real worker process consumes a task."""

import subprocess
import sys

import pytest

from winback.tests.processes import ROOT, Worker, clean_env, run_manage

pytestmark = pytest.mark.integration


def test_the_embedded_default_seeds_and_runs_a_task_through_a_real_worker(tmp_path):
    env = clean_env(
        DJANGO_SETTINGS_MODULE="winback.settings.local",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        WINBACK_CELERY_DATA_DIR=str(tmp_path / "celery"),
        WINBACK_EMAIL_DIR=str(tmp_path / "mail"),
    )
    run_manage("migrate", "--noinput", "-v0", env=env)
    seeded = run_manage("seed_demo", "--if-empty", env=env, timeout=600)
    assert "winback-demo-2026" in seeded.stdout
    again = run_manage("seed_demo", "--if-empty", env=env)
    assert "already loaded" in again.stdout
    surveys = run_manage("seed_survey_demo", "--if-empty", env=env, timeout=600)
    assert "Survey demo loaded" in surveys.stdout, surveys.stdout
    assert list((tmp_path / "mail").glob("*.log")), "the invitations are written to the mail folder"
    cases = run_manage("seed_case_demo", "--if-empty", env=env, timeout=600)
    assert "Case demo loaded" in cases.stdout, cases.stdout
    # The case pages on SQLite (the board's per-stage cards take a plain path there).
    pages = ["/cases/", "/cases/board/", "/cases/pool/", "/cases/1/", "/cases/actions/", "/cases/outcomes/"]
    code = (
        "from django.test import Client\nfrom django.contrib.auth.models import User\n"
        "c = Client()\nc.force_login(User.objects.get(username='manager1'))\n"
        f"print([c.get(url, HTTP_HOST='127.0.0.1').status_code for url in {pages!r}])\n"
    )
    served = run_manage("shell", "-c", code, env=env, timeout=300)
    assert served.stdout.strip().splitlines()[-1] == str([200] * len(pages)), served.stdout + served.stderr
    # The dashboard's facts and pages on SQLite (the refresh's SQL has a plain SQLite dialect).
    refreshed = run_manage("refresh_dashboard", env=env, timeout=300)
    assert "Dashboard facts rebuilt" in refreshed.stdout, refreshed.stdout + refreshed.stderr
    dashboard = ["/dashboard/", "/dashboard/?period=year&year=2026", "/dashboard/report/", "/dashboard/list/defected/"]
    code = (
        "from django.test import Client\nfrom django.contrib.auth.models import User\n"
        "c = Client()\nc.force_login(User.objects.get(username='exec1'))\n"
        f"print([c.get(url, HTTP_HOST='127.0.0.1').status_code for url in {dashboard!r}])\n"
        "page = c.get('/dashboard/?period=year&year=2026', HTTP_HOST='127.0.0.1')\n"
        "print(page.content.decode().count('data-figure='))\n"
    )
    served = run_manage("shell", "-c", code, env=env, timeout=300)
    status_line, figures = served.stdout.strip().splitlines()[-2:]
    assert status_line == str([200] * len(dashboard)), served.stdout + served.stderr
    assert figures == "15"
    # The seed replayed detection over the demo history; a run today now works incrementally on SQLite.
    detected = run_manage("detect_defections", env=env)
    assert "(nightly (changed customers))" in detected.stdout, detected.stdout
    assert "Events opened                          0" in detected.stdout, detected.stdout

    with Worker(env, tmp_path / "worker.log") as worker:
        # The sender is a separate process too: nothing is shared but the SQLite file and the folder.
        code = "import django; django.setup()\nfrom winback.tasks import ping\nprint(ping.delay().get(timeout=90))\n"
        sent = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert sent.stdout.strip().splitlines()[-1:] == ["pong"], sent.stdout + sent.stderr + worker.output()
        assert "winback.ping" in worker.output()
