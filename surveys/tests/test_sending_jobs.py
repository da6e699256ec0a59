"""The survey jobs as Celery tasks: enqueued only on commit (JOB-09), a slot per run, the beat
entries, and the static checks of JOB-06 (visibility timeouts against time limits, no long
countdowns anywhere in the code)."""

import ast
import importlib
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from surveys import tasks
from surveys.models import Invitation, InvitationStatus, SurveySettings
from surveys.services import sending
from surveys.tests.test_invitations_create import active_survey, defection
from winback.celery import app
from winback.models import JobRun

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
MAX_COUNTDOWN = 300


@pytest.fixture(autouse=True)
def _unlimited():
    SurveySettings.objects.update_or_create(pk=1, defaults={"send_per_minute": 100_000})


def test_a_rolled_back_run_enqueues_no_task_and_sends_nothing(django_capture_on_commit_callbacks, mailoutbox):
    """JOB-09, rolled back."""
    active_survey("en")
    for _ in range(3):
        defection()

    created = {}

    def failing_run():
        with transaction.atomic():
            created.update(tasks.create_and_enqueue())
            raise RuntimeError("the run fails after creating its invitations")

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        failing_run()

    assert created["pending"] == 3

    print(f"JOB-09: emails for rolled-back rows={len(mailoutbox)}, tasks enqueued={len(callbacks)}")
    assert callbacks == []
    assert mailoutbox == []
    assert not Invitation.objects.exists()


def test_a_committed_run_enqueues_its_batches_which_send(django_capture_on_commit_callbacks, mailoutbox):
    """JOB-09, committed (Celery runs eagerly in the unit tests)."""
    active_survey("en")
    for _ in range(3):
        defection()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            counts = tasks.create_and_enqueue()
        assert mailoutbox == []  # nothing goes before the commit

    assert counts["batches"] == len(callbacks) == 1
    assert len(mailoutbox) == 3
    assert set(Invitation.objects.values_list("status", flat=True)) == {InvitationStatus.SENT}


def test_the_beat_job_runs_once_per_slot_and_records_what_it_did(django_capture_on_commit_callbacks, mailoutbox):
    active_survey("en")
    defection()

    with django_capture_on_commit_callbacks(execute=True):
        first = tasks.send_survey_invitations.delay(slot="2026-11-23T10:00").get()
    second = tasks.send_survey_invitations.delay(slot="2026-11-23T10:00").get()

    run = JobRun.objects.get(job=tasks.SEND_JOB)
    assert first.startswith("slot 2026-11-23T10:00: created 1, pending 1")
    assert second == "slot 2026-11-23T10:00 already claimed"
    assert run.finished_at is not None
    assert "batches 1" in run.outcome
    assert len(mailoutbox) == 1


def test_the_beat_entries_exist_for_the_sending_job_and_the_reviewer_digest():
    entries = {
        task.name: task for task in PeriodicTask.objects.filter(name__in=["send-survey-invitations", "reviewer-digest"])
    }

    sending_entry, digest = entries["send-survey-invitations"], entries["reviewer-digest"]
    assert sending_entry.task == "surveys.tasks.send_survey_invitations"
    assert (sending_entry.crontab.minute, sending_entry.crontab.hour) == ("*/2", "*")
    assert digest.task == "surveys.send_reviewer_digest"
    assert (digest.crontab.minute, digest.crontab.hour) == ("0", "*")
    app.loader.import_default_modules()
    assert {sending_entry.task, digest.task} <= set(app.tasks)


def test_the_beat_migration_adds_missing_entries_and_keeps_changed_ones():
    migration = importlib.import_module("surveys.migrations.0004_beat_schedule")
    PeriodicTask.objects.filter(name="reviewer-digest").delete()
    PeriodicTask.objects.filter(name="send-survey-invitations").update(enabled=False)

    migration.create_entries(django_apps, None)

    assert PeriodicTask.objects.get(name="reviewer-digest").task == "surveys.send_reviewer_digest"
    assert PeriodicTask.objects.get(name="send-survey-invitations").enabled is False


def test_send_tasks_acknowledge_late_and_end_before_a_claim_could_be_taken_over():
    for task in (tasks.send_invitation_batch_task, tasks.send_reminder_batch_task, tasks.send_survey_invitations):
        assert task.acks_late is True
        assert task.time_limit <= settings.CELERY_TASK_TIME_LIMIT
    assert sending.LEASE.total_seconds() > tasks.SEND_TIME_LIMIT
    assert sending.BATCH_DEADLINE_SECONDS < tasks.SEND_SOFT_TIME_LIMIT


def test_visibility_timeouts_are_equal_and_at_least_twice_the_task_time_limit():
    """JOB-06, static: a task still running when the broker's visibility timeout ends is handed to
    a second worker; the timeouts must outlast every task with room to spare."""
    timeouts = [
        settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"],
        settings.CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS["visibility_timeout"],
        settings.CELERY_VISIBILITY_TIMEOUT,
    ]
    print(f"JOB-06: visibility timeouts={timeouts}, task_time_limit={settings.CELERY_TASK_TIME_LIMIT}")
    assert len(set(timeouts)) == 1
    assert timeouts[0] >= 2 * settings.CELERY_TASK_TIME_LIMIT


def countdown_uses() -> list[tuple[str, int, ast.expr]]:
    """Every `countdown=` / `eta=` argument in the project's code (tests and migrations aside)."""
    found = []
    for app_dir in ("winback", "customers", "surveys", "cases"):
        for path in sorted((ROOT / app_dir).rglob("*.py")):
            if "tests" in path.parts or "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call):
                    found += [
                        (str(path.relative_to(ROOT)), node.lineno, keyword.value)
                        for keyword in node.keywords
                        if keyword.arg in ("countdown", "eta")
                    ]
    return found


def longest_countdown(module_path: str, value: ast.expr) -> float | None:
    """The largest value the argument can take, where the code lets us know it: a number, the
    beat job's planned countdowns, or a module-level function of the retry number."""
    if isinstance(value, ast.Constant) and isinstance(value.value, int | float):
        return value.value
    if module_path == "surveys/tasks.py" and isinstance(value, ast.Name) and value.id == "countdown":
        return tasks.DISPATCH_PERIOD_SECONDS  # plan_batches never exceeds its period
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
        module = importlib.import_module(module_path.removesuffix(".py").replace("/", "."))
        function = getattr(module, value.func.id)
        return max(function(retries) for retries in range(0, 20) for _ in range(20))
    return None


def test_no_code_path_uses_a_countdown_or_eta_longer_than_five_minutes():
    """JOB-06, static: long ETAs sit unacknowledged in a worker, where a visibility timeout or a
    restart turns them into duplicates; longer waits belong in the database (next_attempt_at)."""
    uses = countdown_uses()
    bounds = {f"{path}:{line}": longest_countdown(path, value) for path, line, value in uses}
    print(f"JOB-06: countdown/eta uses={bounds}")
    assert any(path == "surveys/tasks.py" for path, _, _ in uses)
    assert all(bound is not None for bound in bounds.values()), bounds
    assert all(bound <= MAX_COUNTDOWN for bound in bounds.values()), bounds
    for period in (60, 120, 300):
        plan = sending.plan_batches(now=timezone.now(), period_seconds=period)
        assert all(countdown <= period for _, countdown in plan)
