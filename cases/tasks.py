"""Celery wrappers for the cases jobs: ids in, one service call, idempotent.

Each claims its slot first (winback.jobs, RELIABILITY.md JOB-04): the hour for the beat entries, the
detection run for housekeeping started after one. A second beat, a redelivered message or a retry
of the same slot does nothing; the services themselves are safe to run concurrently as well.
"""

import datetime as dt

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from cases.mail_tasks import send_case_email_task  # noqa: F401  (registers the case email task with workers)
from winback import jobs

HOUSEKEEPING_JOB = "case_housekeeping"
DIGEST_JOB = "case_overdue_digest"
HOUR = 3600
# A claim left unfinished this long belongs to a worker that died: its redelivered message takes over.
RECLAIM_AFTER = dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
LIMITS = {
    "acks_late": True,
    "time_limit": settings.CELERY_TASK_TIME_LIMIT,
    "soft_time_limit": settings.CELERY_TASK_SOFT_TIME_LIMIT,
}


def _run_once(task, job: str, slot: str, work) -> str:
    claim = jobs.claim_slot(job, slot, task.request.id or "", reclaim_after=RECLAIM_AFTER)
    if claim is None:
        return f"slot {slot} already claimed"
    try:
        outcome = work()
    except Exception as error:
        jobs.finish(claim, f"failed: {error}")
        raise
    jobs.finish(claim, str(outcome))
    return f"slot {slot}: {outcome}"


@shared_task(bind=True, **LIMITS)
def case_housekeeping_task(self, detection_run_id: int | None = None, slot_seconds: int | None = None) -> str:
    """Opens cases for new defections, wins back cases whose customer bought, closes expired offers.
    Hourly (beat) and after each detection run (customers.tasks.after_detection)."""
    from cases.services.housekeeping import run_housekeeping

    if detection_run_id:
        slot = f"detection run {detection_run_id}"
    else:
        slot = jobs.slot_for(timezone.now(), slot_seconds or HOUR)
    return _run_once(self, HOUSEKEEPING_JOB, slot, lambda: run_housekeeping(detection_run_id=detection_run_id))


@shared_task(bind=True, **LIMITS)
def send_overdue_digests_task(self, slot_seconds: int | None = None) -> str:
    """Each owner's one email of their overdue first contacts, cases and tasks (each item at most
    once a day; none when nothing is new)."""
    from cases.services.digest import send_overdue_digests

    slot = jobs.slot_for(timezone.now(), slot_seconds or HOUR)
    return _run_once(self, DIGEST_JOB, slot, lambda: f"sent {send_overdue_digests()}")
