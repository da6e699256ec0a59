"""The detection job: run-once slots, the task, the run an import of cancellations starts, and
concurrent runs (RELIABILITY.md JOB-03 (a)); JOB-04 with real beat processes is in
winback/tests/test_detection_worker.py."""

import datetime as dt
import json
import threading

import pytest
import time_machine
from django.db import connection, transaction
from django.urls import reverse

from customers import services
from customers.detection.engine import run_detection
from customers.models import Customer, DefectionEvent, DetectionRun, StatusChange
from customers.tasks import detect_defections_task, send_at_risk_digests_task
from customers.tests.detection_helpers import NOON_TODAY, TODAY, cancel, customer_buying, days_ago, segment
from customers.tests.factories import CustomerFactory
from winback import jobs
from winback.models import JobRun

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_downstream_reactions(settings):
    """Only detection's own slots here: the apps downstream of detection (case housekeeping) are
    started by customers.tasks.after_detection, tested with them (cases/tests/test_jobs_worker.py)."""
    settings.WINBACK_AFTER_DETECTION_TASKS = []


@pytest.fixture(autouse=True)
def _frozen_today():
    with time_machine.travel(NOON_TODAY, tick=False):
        yield


def job_runs() -> list[tuple[str, str]]:
    return list(JobRun.objects.order_by("id").values_list("job", "slot"))


# Slots --------------------------------------------------------------------------------------


def test_a_slot_is_the_start_of_its_period_in_the_business_time_zone():
    at = dt.datetime(2026, 6, 15, 10, 0, 19, 900_000, tzinfo=dt.UTC)
    assert jobs.slot_for(at, 10) == "2026-06-15T12:00:10+02:00"
    assert jobs.slot_for(at + dt.timedelta(milliseconds=100), 10) == "2026-06-15T12:00:20+02:00"
    assert jobs.slot_for(at, 60) == "2026-06-15T12:00:00+02:00"


def test_a_slot_is_claimed_once_and_a_second_claim_gets_nothing_without_an_error():
    first = jobs.claim_slot("detect_defections", "2026-06-15", task_id="a")
    with transaction.atomic():  # the transaction stays usable: no IntegrityError was raised inside it
        second = jobs.claim_slot("detect_defections", "2026-06-15", task_id="b")
        other_job = jobs.claim_slot("send_at_risk_digests", "2026-06-15")
    assert first is not None
    assert first.pk == JobRun.objects.get(job="detect_defections").pk
    assert second is None
    assert other_job is not None
    assert JobRun.objects.get(job="detect_defections").task_id == "a"


def test_a_claim_left_unfinished_by_a_dead_worker_is_taken_over_after_the_limit():
    claim = jobs.claim_slot("detect_defections", "2026-06-15", task_id="killed")
    assert jobs.claim_slot("detect_defections", "2026-06-15", reclaim_after=dt.timedelta(hours=1)) is None
    with time_machine.travel(NOON_TODAY + dt.timedelta(hours=1, seconds=1), tick=False):
        again = jobs.claim_slot("detect_defections", "2026-06-15", "redelivered", reclaim_after=dt.timedelta(hours=1))
    assert again is not None
    assert again.pk == claim.pk
    jobs.finish(again, "done")
    with time_machine.travel(NOON_TODAY + dt.timedelta(hours=3), tick=False):
        assert jobs.claim_slot("detect_defections", "2026-06-15", reclaim_after=dt.timedelta(hours=1)) is None
    assert JobRun.objects.values_list("task_id", "outcome").get() == ("redelivered", "done")


# The task ------------------------------------------------------------------------------------


def test_the_task_runs_detection_and_records_the_days_slot():
    gone = customer_buying(segment(), 200)

    answer = detect_defections_task.delay().get()

    run = DetectionRun.objects.get()
    assert (run.trigger, run.status, run.as_of) == ("beat", DetectionRun.Status.DONE, TODAY)
    assert Customer.objects.get(pk=gone.pk).status == Customer.Status.DEFECTED
    claim = JobRun.objects.get()
    assert (claim.job, claim.slot) == ("detect_defections", "2026-06-15")
    assert claim.finished_at is not None
    assert f"detection run {run.pk}" in claim.outcome
    assert answer == f"slot 2026-06-15: detection run {run.pk}"


def test_a_second_call_for_the_same_slot_does_nothing():
    customer_buying(segment(), 200)
    detect_defections_task.delay()
    later = NOON_TODAY + dt.timedelta(hours=5)
    with time_machine.travel(later, tick=False):
        answer = detect_defections_task.delay().get()

    assert answer == "slot 2026-06-15 already claimed"
    assert DetectionRun.objects.count() == 1
    assert job_runs() == [("detect_defections", "2026-06-15")]


def test_the_weekly_full_run_and_the_next_day_have_slots_of_their_own():
    customer_buying(segment(), 200)
    detect_defections_task.delay()
    detect_defections_task.delay(full=True)
    with time_machine.travel(NOON_TODAY + dt.timedelta(days=1), tick=False):
        detect_defections_task.delay()

    assert job_runs() == [
        ("detect_defections", "2026-06-15"),
        ("detect_defections", "2026-06-15 full"),
        ("detect_defections", "2026-06-16"),
    ]
    assert list(DetectionRun.objects.order_by("id").values_list("mode", flat=True)) == ["full", "full", "nightly"]


def test_runs_started_by_hand_share_the_minute_and_short_slots_share_their_period():
    detect_defections_task.delay(trigger="admin")
    detect_defections_task.delay(trigger="admin")
    detect_defections_task.delay(slot_seconds=10)
    with time_machine.travel(NOON_TODAY + dt.timedelta(seconds=9), tick=False):
        detect_defections_task.delay(slot_seconds=10)
    with time_machine.travel(NOON_TODAY + dt.timedelta(seconds=10), tick=False):
        detect_defections_task.delay(slot_seconds=10)

    assert [slot for _, slot in job_runs()] == [
        "admin 2026-06-15T12:00:00+02:00",
        "2026-06-15T12:00:00+02:00",
        "2026-06-15T12:00:10+02:00",
    ]
    assert list(DetectionRun.objects.order_by("id").values_list("trigger", flat=True)) == ["admin", "beat", "beat"]


def test_the_digest_task_sends_once_a_day():
    first = send_at_risk_digests_task.delay().get()
    second = send_at_risk_digests_task.delay().get()
    with time_machine.travel(NOON_TODAY + dt.timedelta(days=1), tick=False):
        next_day = send_at_risk_digests_task.delay().get()

    assert (first, second, next_day) == (
        "slot 2026-06-15: sent 0",
        "slot 2026-06-15 already claimed",
        "slot 2026-06-16: sent 0",
    )
    assert job_runs() == [("send_at_risk_digests", "2026-06-15"), ("send_at_risk_digests", "2026-06-16")]


def test_a_migration_schedules_detection_nightly_a_full_recompute_weekly_and_the_digest_on_workdays(settings):
    from django_celery_beat.models import PeriodicTask

    entries = {task.name: task for task in PeriodicTask.objects.select_related("crontab")}
    nightly, weekly = entries["detect-defections-nightly"], entries["detect-defections-full-weekly"]
    digest = entries["send-at-risk-digests"]

    def when(entry):
        c = entry.crontab
        return (c.minute, c.hour, c.day_of_month, c.month_of_year, c.day_of_week, str(c.timezone))

    assert (nightly.task, json.loads(nightly.kwargs)) == ("customers.tasks.detect_defections_task", {"trigger": "beat"})
    assert when(nightly) == ("30", "2", "*", "*", "*", settings.TIME_ZONE)  # business time
    assert (weekly.task, json.loads(weekly.kwargs)) == (nightly.task, {"trigger": "beat", "full": True})
    assert when(weekly) == ("30", "3", "*", "*", "0", settings.TIME_ZONE)
    assert digest.task == "customers.tasks.send_at_risk_digests_task"
    assert when(digest) == ("0", "7", "*", "*", "1-5", settings.TIME_ZONE)
    assert all(entry.enabled for entry in (nightly, weekly, digest))
    assert settings.CELERY_TIMEZONE == settings.TIME_ZONE


# An import of cancellations ------------------------------------------------------------------

INTERACTIONS = "customer_id,occurred_at,kind,summary,channel,owner\n"


def import_interactions(tmp_path, rows: str, name: str):
    path = tmp_path / name
    path.write_text(INTERACTIONS + rows)
    return services.import_file(kind="interactions", path=path)


def test_an_import_with_cancellations_starts_a_run_that_flags_the_customer_an_active_defector(
    tmp_path, django_capture_on_commit_callbacks
):
    leaving = customer_buying(segment(), 10, 40, external_id="C1")
    staying = customer_buying(segment(), 10, 40, external_id="C2")
    run_detection()
    rows = "C1,2026-06-14T09:30,cancellation,Cancel my contract,phone,\nC2,2026-06-14T10:00,complaint,Late again,,\n"

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        imported = import_interactions(tmp_path, rows, "cancellations.csv")

    assert len(callbacks) == 1
    run = DetectionRun.objects.latest("id")
    assert (run.trigger, run.mode, run.summary["newly_defected_active"]) == ("import", "nightly", 1)
    assert Customer.objects.get(pk=leaving.pk).status == Customer.Status.DEFECTED
    assert Customer.objects.get(pk=staying.pk).status == Customer.Status.ACTIVE
    event = DefectionEvent.objects.get()
    assert (event.customer_id, event.kind, event.status) == (leaving.pk, "active", "open")
    assert job_runs()[-1] == ("detect_defections", f"import {imported.pk}")


def test_an_import_without_new_cancellations_starts_no_run(tmp_path, django_capture_on_commit_callbacks):
    customer_buying(segment(), 10, external_id="C1")
    cancellation = "C1,2026-06-14T09:30,cancellation,Cancel my contract,phone,\n"
    with django_capture_on_commit_callbacks(execute=True) as first:
        import_interactions(tmp_path, cancellation, "first.csv")
    with django_capture_on_commit_callbacks(execute=True) as complaints:
        import_interactions(tmp_path, "C1,2026-06-14T10:00,complaint,Late again,,\n", "complaint.csv")
    with django_capture_on_commit_callbacks(execute=True) as again:
        import_interactions(tmp_path, cancellation, "again.csv")  # nothing new in it

    assert (len(first), len(complaints), len(again)) == (1, 0, 0)
    assert DetectionRun.objects.count() == 1


# JOB-03 (a): concurrent runs -----------------------------------------------------------------


def build_population() -> dict[int, str]:
    """Customers each rule flags, and some it leaves alone: {customer id: expected status}."""
    rules = segment(at_risk=60, defected=90)
    expected = {}
    for index in range(12):
        expected[customer_buying(rules, 200 + index, 400).pk] = "defected"  # passive
        expected[customer_buying(rules, 70 + index, 300).pk] = "at_risk"
        cancelled = customer_buying(rules, 20 + index, 300)
        cancel(cancelled, days_ago(5))
        expected[cancelled.pk] = "defected"  # active
        expected[customer_buying(rules, 5 + index, 100).pk] = "active"
    CustomerFactory(segment=rules)  # never bought: nothing to flag
    return expected


def in_parallel(count: int, work) -> list:
    """Calls work() in `count` threads released together, each on its own database connection."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def target(index):
        try:
            barrier.wait(timeout=10)
            results[index] = work()
        except Exception as error:  # reported by the test
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a run hung (deadlock?)"
    return results


def assert_flagged_once(expected: dict[int, str]) -> str:
    eligible = {pk for pk, status in expected.items() if status != "active"}
    changes = list(StatusChange.objects.values_list("customer_id", "to_status"))
    events = list(DefectionEvent.objects.filter(status="open").values_list("customer_id", flat=True))
    rows = len(changes)
    duplicates = rows - len({pk for pk, _ in changes}) + len(events) - len(set(events))
    report = f"eligible={len(eligible)}, rows={rows}, events={len(events)}, duplicates={duplicates}"
    assert duplicates == 0, report
    assert {pk for pk, _ in changes} == eligible, report
    assert dict(changes) == {pk: expected[pk] for pk in eligible}, report
    assert sorted(events) == sorted(pk for pk in eligible if expected[pk] == "defected"), report
    statuses = dict(Customer.objects.filter(pk__in=expected).values_list("pk", "status"))
    assert statuses == expected, report
    return report


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_runs_for_the_same_day_in_parallel_flag_each_customer_once():
    expected = build_population()

    results = in_parallel(2, lambda: run_detection(trigger="command"))

    assert all(isinstance(result, DetectionRun) for result in results), results
    assert {result.as_of for result in results} == {TODAY}
    assert_flagged_once(expected)
    # One run did the work; the other waited for its lock and then found nothing left to change.
    opened = sorted(result.summary["events_opened"] for result in results)
    assert opened == [0, sum(1 for status in expected.values() if status == "defected")], opened

    with time_machine.travel(NOON_TODAY + dt.timedelta(seconds=10), tick=False):
        again = in_parallel(2, lambda: run_detection(trigger="command"))

    assert all(isinstance(result, DetectionRun) for result in again), again
    assert [result.summary["events_opened"] for result in again] == [0, 0]
    assert_flagged_once(expected)
    defected = sum(1 for status in expected.values() if status == "defected")
    print(f"\nJOB-03 (detection, two runs at once, then again 10 s later): eligible {defected}, duplicates 0")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_tasks_for_the_same_slot_in_parallel_run_detection_once():
    expected = build_population()

    answers = in_parallel(2, lambda: detect_defections_task.apply().result)

    assert sorted(answers, key=str) == sorted(
        [f"slot 2026-06-15: detection run {DetectionRun.objects.get().pk}", "slot 2026-06-15 already claimed"],
        key=str,
    ), answers
    assert job_runs() == [("detect_defections", "2026-06-15")]
    assert_flagged_once(expected)


# The admin ---------------------------------------------------------------------------------


def test_job_runs_are_listed_read_only_for_administrators(admin_client, django_assert_max_num_queries):
    claim = jobs.claim_slot("detect_defections", "2026-06-15")
    url = reverse("admin:winback_jobrun_changelist")
    with django_assert_max_num_queries(12):
        response = admin_client.get(url)
    assert response.status_code == 200
    assert "2026-06-15" in response.content.decode()
    assert admin_client.get(reverse("admin:winback_jobrun_change", args=[claim.pk])).status_code == 200
    assert admin_client.get(reverse("admin:winback_jobrun_add")).status_code == 403
    assert admin_client.post(reverse("admin:winback_jobrun_delete", args=[claim.pk])).status_code == 403
    assert JobRun.objects.count() == 1


@pytest.mark.parametrize("role_user", ["manager", "executive"], indirect=True)
def test_other_roles_cannot_see_job_runs(client, role_user):
    client.force_login(role_user)
    response = client.get(reverse("admin:winback_jobrun_changelist"))
    assert response.status_code == 302  # the admin sends non-staff users to its login
    client.logout()
    assert client.get(reverse("admin:winback_jobrun_changelist")).status_code == 302
