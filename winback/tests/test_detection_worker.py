"""The detection job on real processes: a Celery worker on Redis runs a task sent by another process,
and two `celery beat` processes never run a slot twice (RELIABILITY.md JOB-04, the `make test`
variant: about a minute with a 10-second schedule).

The beats use the project's DatabaseScheduler: both read the 10-second entry this test writes to
the (test) database, both send every tick, and the task's `JobRun(job, slot)` claim lets one
message per slot through. Marked integration; `make test` provides Redis on 127.0.0.1:6379.
"""

import datetime as dt
import json
import re

import pytest
import redis
from django.conf import settings
from django.db.models import Sum
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from customers.models import Customer, DetectionRun
from customers.tests.detection_helpers import buy, segment
from customers.tests.factories import CustomerFactory
from winback.models import DefectionMonth, FactRefresh, JobRun
from winback.tests.processes import Beat, Worker, clean_env, send_from_another_process, wait_for

# Committed rows, so the worker and the beats see them. serialized_rollback puts the role groups
# back before the next such test (committing ensure_roles() after the flush instead would collide
# with that restore).
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# A database of its own on the Redis server, emptied first: no other suite's worker takes our tasks.
REDIS_URL = "redis://127.0.0.1:6379/13"
TASK = "customers.tasks.detect_defections_task"
ENTRY = "JOB-04 detection every 10 s"


@pytest.fixture(autouse=True)
def _empty_broker():
    redis.Redis.from_url(REDIS_URL).flushdb()


def process_env(**extra: str) -> dict[str, str]:
    """Worker and beat settings: the pytest test database (its name, not the configured one)."""
    database = settings.DATABASES["default"]
    return clean_env(
        **extra,
        DJANGO_SETTINGS_MODULE="winback.settings.test",
        WINBACK_CELERY_EAGER="false",
        CELERY_BROKER_URL=REDIS_URL,
        DATABASE_URL=(
            f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
    )


def a_customer_gone_for_200_days() -> Customer:
    customer = CustomerFactory(segment=segment(at_risk=60, defected=90))
    buy(customer, timezone.localdate() - dt.timedelta(days=200))
    return customer


def test_a_worker_on_redis_runs_detection_sent_by_another_process(tmp_path):
    gone = a_customer_gone_for_200_days()
    env = process_env()
    with Worker(env, tmp_path / "worker.log") as worker:
        task_id = send_from_another_process(
            env,
            "from customers.tasks import detect_defections_task\n"
            "print(detect_defections_task.delay(trigger='admin').id)",
        )
        finished = wait_for(lambda: JobRun.objects.filter(task_id=task_id, finished_at__isnull=False).first(), 60)
        assert finished is not None, worker.output()
        # The worker then rebuilds the dashboard's facts (settings.WINBACK_AFTER_DETECTION_TASKS).
        refresh = wait_for(
            lambda: FactRefresh.objects.filter(trigger__startswith="detection run", status="done").first(), 60
        )
        assert refresh is not None, worker.output()

    run = DetectionRun.objects.get()
    assert (run.trigger, run.status) == ("admin", DetectionRun.Status.DONE), run.error
    assert finished.slot.startswith("admin ")
    assert f"detection run {run.pk}" in finished.outcome
    gone.refresh_from_db()
    assert gone.status == Customer.Status.DEFECTED, run.summary
    assert refresh.trigger == f"detection run {run.pk}"
    assert DefectionMonth.objects.filter(month=run.as_of.replace(day=1)).aggregate(n=Sum("events"))["n"] == 1
    assert gone.defection_events.filter(status="open", kind="passive").count() == 1
    assert f"{TASK}[{task_id}] succeeded" in worker.output()


def slot_claims() -> list[JobRun]:
    """The claims of the 10-second slots (ISO times; the daily entries would claim plain dates)."""
    return list(JobRun.objects.filter(job="detect_defections", slot__contains="T").order_by("slot"))


def test_two_beat_processes_run_each_slot_once(tmp_path):
    gone = a_customer_gone_for_200_days()
    every_10_seconds, _ = IntervalSchedule.objects.get_or_create(every=10, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(
        name=ENTRY, task=TASK, interval=every_10_seconds, kwargs=json.dumps({"slot_seconds": 10})
    )
    # Only the test's entry may fire: the migrated daily entries are paused, as an administrator would.
    PeriodicTask.objects.exclude(name=ENTRY).update(enabled=False)
    env = process_env()
    with (
        Worker(env, tmp_path / "worker.log") as worker,
        Beat(env, tmp_path / "beat-1.log") as first,
        Beat(env, tmp_path / "beat-2.log") as second,
    ):
        # Real processes on the real clock: about a minute, until six slots have run.
        wait_for(lambda: len(slot_claims()) >= 6, timeout=90, interval=1)
        first.stop()
        second.stop()
        sent = [log.output().count(f"Sending due task {ENTRY} ") for log in (first, second)]
        finished = re.compile(rf"{re.escape(TASK)}\[[0-9a-f-]+\] (succeeded|raised)")
        drained = wait_for(lambda: len(finished.findall(worker.output())) >= sum(sent), timeout=60)
        log = worker.output()
    outcomes = finished.findall(log)

    claims = slot_claims()
    runs = DetectionRun.objects.filter(trigger="beat")
    skipped = log.count("already claimed")
    report = (
        f"slots={len(claims)}, runs={runs.count()}, messages sent by each beat={sent}, "
        f"skipped as already claimed={skipped}"
    )
    assert drained, f"{report}\n{log}"
    assert len(claims) >= 4, report
    assert all(dt.datetime.fromisoformat(claim.slot).second % 10 == 0 for claim in claims), report
    # Each slot ran detection exactly once: one finished claim per slot, each naming its own run.
    run_of_claim = [re.search(r"detection run (\d+)", claim.outcome) for claim in claims]
    assert all(run_of_claim), report
    assert all(claim.finished_at for claim in claims), report
    assert sorted(int(match.group(1)) for match in run_of_claim) == sorted(runs.values_list("pk", flat=True)), report
    assert all(run.status == DetectionRun.Status.DONE for run in runs), report
    # Both beats sent every tick, so the claim, not luck, kept the second copy out.
    assert min(sent) >= 4, report
    assert skipped >= 1, report
    assert skipped + runs.count() == sum(sent), report
    assert "IntegrityError" not in log, log
    assert outcomes.count("raised") == 0, log
    gone.refresh_from_db()
    assert gone.status == Customer.Status.DEFECTED
    assert gone.defection_events.count() == 1
    print(f"\nJOB-04: {report}")  # the figures RELIABILITY.md asks for
