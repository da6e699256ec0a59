"""Operations: the administrators' Jobs page, the overdue-job alert email and /healthz/ready.

The beat entries are the real ones, created by the migrations in the test database; the runs are
rows of the records each job writes (DetectionRun, FactRefresh, JobRun). The broker check talks to
the Redis on 127.0.0.1:6379 that `make test` provides."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from customers.models import DetectionRun
from surveys.models import InvitationStatus
from surveys.tasks import SEND_JOB
from surveys.tests.factories import InvitationFactory
from winback.dashboard.models import FactRefresh
from winback.models import JobRun
from winback.ops import check_jobs_task, job_statuses

REDIS_URL = "redis://127.0.0.1:6379/15"
JOBS_URL = "/staff/jobs/"
READY_URL = "/healthz/ready"
DETECTION_ERROR = "relation customers_transaction does not exist"


def detection_run(*, ago: dt.timedelta, status=DetectionRun.Status.DONE, error="", **summary) -> DetectionRun:
    started = timezone.now() - ago
    return DetectionRun.objects.create(
        as_of=timezone.localdate(started),
        mode=DetectionRun.Mode.NIGHTLY,
        trigger="beat",
        status=status,
        started_at=started,
        finished_at=started + dt.timedelta(seconds=42),
        seconds=42.0,
        summary={"scanned": 1200, "newly_at_risk": 7, **summary},
        error=error,
    )


def job_run(job: str, *, ago: dt.timedelta, outcome: str = "created 3, batches 1", slot: str = "") -> JobRun:
    started = timezone.now() - ago
    run = JobRun.objects.create(job=job, slot=slot or started.isoformat(timespec="seconds"), outcome=outcome)
    JobRun.objects.filter(pk=run.pk).update(started_at=started, finished_at=started + dt.timedelta(seconds=2))
    return run


def healthy_runs() -> None:
    """Every job recently successful: detection an hour ago, sending a minute ago."""
    detection_run(ago=dt.timedelta(hours=1))
    job_run(SEND_JOB, ago=dt.timedelta(minutes=1))


@pytest.fixture
def overdue_detection(db):
    """The nightly detection last succeeded three days ago and failed an hour ago; sending is fine."""
    detection_run(ago=dt.timedelta(days=3))
    detection_run(ago=dt.timedelta(hours=1), status=DetectionRun.Status.FAILED, error=DETECTION_ERROR)
    job_run(SEND_JOB, ago=dt.timedelta(minutes=1))


def statuses_by_name(statuses) -> dict:
    return {status.task.name: status for status in statuses}


# The Jobs page


def test_anonymous_visitors_are_sent_to_sign_in_from_the_jobs_page(client, db):
    response = client.get(JOBS_URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role_user", ["manager", "executive"], indirect=True)
def test_only_administrators_may_see_the_jobs_page(client, role_user):
    client.force_login(role_user)
    assert client.get(JOBS_URL).status_code == 403


def test_an_administrator_sees_a_failed_detection_run_and_an_overdue_job(
    admin_client, overdue_detection, django_assert_max_num_queries
):
    for hours in range(1, 30):  # many records must not mean more queries
        job_run(SEND_JOB, ago=dt.timedelta(hours=hours, minutes=5), outcome="failed: SMTP 451 try later")
        FactRefresh.objects.create(status=FactRefresh.Status.DONE, seconds=3.5, rows={"winback_customermonth": hours})
    with django_assert_max_num_queries(20):
        response = admin_client.get(JOBS_URL)
    assert response.status_code == 200
    jobs = statuses_by_name(response.context["board"].jobs)
    nightly = jobs["detect-defections-nightly"]
    assert nightly.overdue
    assert nightly.last_run.ok is False
    assert nightly.last_run.error == DETECTION_ERROR
    assert not jobs["send-survey-invitations"].overdue
    assert jobs["send-survey-invitations"].last_run.summary == "created 3, batches 1"
    content = response.content.decode()
    assert DETECTION_ERROR in content
    assert "Overdue" in content
    failures = response.context["board"].failures
    assert len(failures) == 10
    assert failures[0].error == DETECTION_ERROR
    assert "SMTP 451 try later" in content


def test_the_jobs_page_counts_queued_sending_and_failed_invitations(admin_client):
    for status, count in ((InvitationStatus.PENDING, 2), (InvitationStatus.SENDING, 1), (InvitationStatus.FAILED, 3)):
        InvitationFactory.create_batch(count, status=status)
    InvitationFactory(status=InvitationStatus.SENT)
    response = admin_client.get(JOBS_URL)
    counts = response.context["board"].invitations
    assert (counts["pending"], counts["sending"], counts["failed"]) == (2, 1, 3)
    assert counts["oldest_pending"] is not None
    assert 'data-count="failed">3<' in response.content.decode()


def test_a_new_installation_shows_jobs_that_never_ran_and_no_failures(admin_client):
    response = admin_client.get(JOBS_URL)
    content = response.content.decode()
    assert response.status_code == 200
    assert "Never ran" in content
    assert "No failures recorded." in content
    assert not any(status.overdue for status in response.context["board"].jobs)


def test_without_beat_entries_the_page_says_how_they_are_created(admin_client):
    PeriodicTask.objects.all().delete()
    assert "No scheduled jobs exist" in admin_client.get(JOBS_URL).content.decode()


def test_a_weekday_job_is_not_overdue_over_the_weekend(db):
    """The at-risk digest runs at 07:00 Monday to Friday: Friday's success is still fine on Monday
    morning, and overdue once Tuesday's run has been missed too."""
    friday = timezone.make_aware(dt.datetime(2026, 6, 12, 7, 0, 30))
    with time_machine.travel(friday, tick=False):
        job_run("send_at_risk_digests", ago=dt.timedelta(0), outcome="sent: 4")
    monday = friday + dt.timedelta(days=3, hours=1)
    assert not statuses_by_name(job_statuses(now=monday))["send-at-risk-digests"].overdue
    wednesday = friday + dt.timedelta(days=5)
    assert statuses_by_name(job_statuses(now=wednesday))["send-at-risk-digests"].overdue


# The alert email


def test_the_check_emails_the_administrators_once_about_an_overdue_job(overdue_detection, administrator, manager):
    check_jobs_task.delay()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [administrator.email]
    assert "detect-defections-nightly" in message.subject
    assert DETECTION_ERROR in message.body
    assert "/staff/jobs/" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "detect-defections-nightly" in html

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=20), tick=False):
        job_run(SEND_JOB, ago=dt.timedelta(0))  # sending keeps working meanwhile
        assert check_jobs_task.delay().get() == "no new overdue job"
    assert len(mail.outbox) == 1


def test_a_job_that_recovers_and_falls_behind_again_is_announced_again(overdue_detection, administrator):
    check_jobs_task.delay()
    detection_run(ago=dt.timedelta(0))  # a success ends the spell
    later = timezone.now() + dt.timedelta(days=3)
    with time_machine.travel(later, tick=False):
        job_run(SEND_JOB, ago=dt.timedelta(0))
        check_jobs_task.delay()
    assert len(mail.outbox) == 2


def test_the_check_sends_nothing_while_every_job_is_on_time(db, administrator):
    healthy_runs()
    assert check_jobs_task.delay().get() == "no new overdue job"
    assert mail.outbox == []


def test_when_the_email_fails_the_alert_is_tried_again_at_the_next_check(overdue_detection, administrator, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    with pytest.raises(ConnectionRefusedError):
        check_jobs_task.delay()
    assert not JobRun.objects.filter(job__startswith="overdue alert").exists()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=15), tick=False):
        check_jobs_task.delay()
    assert len(mail.outbox) == 1


# /healthz/ready


@override_settings(CELERY_BROKER_URL=REDIS_URL)
def test_the_readiness_check_answers_200_when_everything_is_fine(client, db):
    healthy_runs()
    response = client.get(READY_URL)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["failed"] == []
    assert set(body["checks"]) == {"database", "broker", "detection", "sending"}
    assert all(check["ok"] for check in body["checks"].values())
    assert "redis://" not in response.content.decode()
    assert response["Cache-Control"].startswith("max-age=0")


@override_settings(CELERY_BROKER_URL=REDIS_URL)
@pytest.mark.parametrize(
    ("detection_ago", "sending_ago", "failing"),
    [
        (dt.timedelta(hours=40), dt.timedelta(minutes=1), "detection"),
        (dt.timedelta(hours=1), dt.timedelta(minutes=45), "sending"),
    ],
)
def test_the_readiness_check_answers_503_naming_a_job_that_is_too_old(client, db, detection_ago, sending_ago, failing):
    detection_run(ago=detection_ago)
    job_run(SEND_JOB, ago=sending_ago)
    response = client.get(READY_URL)
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == [failing]
    assert body["checks"][failing]["age_minutes"] > body["checks"][failing]["max_age_minutes"]


@override_settings(CELERY_BROKER_URL="redis://:do-not-show@127.0.0.1:1/0")
def test_the_readiness_check_answers_503_when_the_broker_is_unreachable(client, db):
    healthy_runs()
    response = client.get(READY_URL)
    assert response.status_code == 503
    assert response.json()["failed"] == ["broker"]
    assert "do-not-show" not in response.content.decode()


@override_settings(CELERY_BROKER_URL=REDIS_URL)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_readiness_check_answers_503_when_the_database_is_unreachable(client):
    settings_dict = connection.settings_dict
    saved_port = settings_dict["PORT"]
    connection.close()
    settings_dict["PORT"] = 1
    try:
        response = client.get(READY_URL)
    finally:
        connection.close()
        settings_dict["PORT"] = saved_port
    assert response.status_code == 503
    body = response.json()
    assert "database" in body["failed"]
    assert body["checks"]["broker"]["ok"]
    assert "winback" not in response.content.decode()  # no database name, user or password


def test_healthz_stays_a_plain_ok_without_the_database(client):
    """No django_db mark: any query would raise."""
    response = client.get("/healthz")
    assert (response.status_code, response.content) == (200, b"ok")
