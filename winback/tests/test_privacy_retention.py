"""PRIV-06: the retention job blanks free-text answers 24 months after their case closed (or,
without a case, after they were given) and their quotations; younger ones are untouched."""

import datetime as dt
import subprocess
import sys

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from cases.tests.factories import CaseFactory, CorrectiveActionFactory
from customers.models import ReasonChange
from surveys.mail import new_message_id
from surveys.models import Answer, ResponseReply
from surveys.tests.factories import AnswerFactory, ResponseFactory
from winback.models import JobRun
from winback.privacy.retention import QUOTE_REMOVED, purge_expired_answers
from winback.privacy.tasks import RETENTION_JOB, purge_expired_answers_task
from winback.tests.processes import ROOT, clean_env, run_manage

pytestmark = pytest.mark.django_db


def answer(text: str, *, submitted_days_ago: int, case_closed_days_ago: int | None = None, open_case=False) -> Answer:
    response = ResponseFactory(submitted_at=timezone.now() - dt.timedelta(days=submitted_days_ago))
    event = response.invitation.event
    if open_case:
        CaseFactory(customer=response.customer, event=event)
    elif case_closed_days_ago is not None:
        closed = timezone.now() - dt.timedelta(days=case_closed_days_ago)
        CaseFactory(customer=response.customer, event=event, stage="lost", is_open=False, closed_at=closed)
    return AnswerFactory(response=response, text=text)


def test_answers_past_retention_are_blanked_and_younger_ones_kept():
    old = [
        answer("Old, case closed long ago", submitted_days_ago=1200, case_closed_days_ago=800),
        answer("Old, no case", submitted_days_ago=760),
    ]
    young = [
        answer("Old answer, case closed recently", submitted_days_ago=1200, case_closed_days_ago=100),
        answer("Old answer, case still open", submitted_days_ago=1200, open_case=True),
        answer("Recent, no case", submitted_days_ago=600),
    ]
    quoted = old[0]
    ReasonChange.objects.create(
        event=quoted.response.invitation.event, source="survey_review", note=f'Said: "{quoted.text}"'
    )
    ResponseReply.objects.create(
        response=quoted.response,
        kind="close_loop",
        subject="Thanks",
        body=f"You wrote: {quoted.text}. We fixed it.",
        message_id=new_message_id(),
    )
    action = CorrectiveActionFactory(source_answer=quoted, description=f"Customer said {quoted.text}")

    counts = purge_expired_answers()
    purged = sum(1 for row in old if Answer.objects.get(pk=row.pk).text == "")
    wrongly = sum(1 for row in young if Answer.objects.get(pk=row.pk).text != row.text)
    print(f"PRIV-06: rows purged {purged}, wrongly purged {wrongly} (quotations cut {counts['quotes']})")
    assert (counts["answers"], purged, wrongly) == (2, 2, 0)
    assert counts["quotes"] == 3
    assert ReasonChange.objects.get().note == f'Said: "{QUOTE_REMOVED}"'
    assert ResponseReply.objects.get().body == f"You wrote: {QUOTE_REMOVED}. We fixed it."
    action.refresh_from_db()
    assert action.description == f"Customer said {QUOTE_REMOVED}"
    assert purge_expired_answers()["answers"] == 0  # idempotent


def test_the_retention_period_is_a_setting(settings):
    row = answer("Given a year ago", submitted_days_ago=400)
    settings.WINBACK_ANSWER_RETENTION_MONTHS = 12
    assert purge_expired_answers()["answers"] == 1
    assert Answer.objects.get(pk=row.pk).text == ""


def test_the_daily_job_runs_once_per_day_and_is_scheduled():
    answer("Old, no case", submitted_days_ago=800)
    first = purge_expired_answers_task.delay().get()
    second = purge_expired_answers_task.delay().get()
    assert "purged 1 answers" in first
    assert "already claimed" in second
    assert JobRun.objects.filter(job=RETENTION_JOB).count() == 1
    entry = PeriodicTask.objects.get(name="purge-expired-answers")
    assert entry.task == "winback.privacy.tasks.purge_expired_answers_task"


@pytest.mark.integration
def test_erasure_and_retention_work_on_sqlite(tmp_path):
    """The embedded default: the erasure's plain audit path and the retention's SQL on SQLite."""
    env = clean_env(
        DJANGO_SETTINGS_MODULE="winback.settings.local",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        WINBACK_CELERY_DATA_DIR=str(tmp_path / "celery"),
        DJANGO_MEDIA_ROOT=str(tmp_path / "media"),
    )
    run_manage("migrate", "--noinput", "-v0", env=env, timeout=600)
    code = (
        "from winback.tests.test_privacy_export import X, seed_customer\n"
        "from winback.tests.factories import UserFactory\n"
        "from winback.privacy.erasure import customer_erase\n"
        "from winback.privacy.retention import purge_expired_answers\n"
        "from customers.models import Customer\n"
        "x, extra = seed_customer(X, owner=UserFactory(role='Administrators'), suppressed=False)\n"
        "result = customer_erase(customer_id=x.pk)\n"
        "c = Customer.objects.get(pk=x.pk)\n"
        "print('ERASED', c.name, c.email == '', result.rows['audit'] >= 0)\n"
        "print('RETENTION', purge_expired_answers()['answers'])\n"
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = done.stdout.strip().splitlines()
    assert any(line.startswith("ERASED Erased customer #") and line.endswith("True True") for line in lines), (
        done.stdout + done.stderr
    )
    assert "RETENTION 0" in lines, done.stdout + done.stderr
