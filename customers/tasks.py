"""Celery wrappers: ids in, one service call, idempotent.

Imports claim their run themselves; the scheduled jobs claim a slot (winback.jobs) so that two beat
processes or a redelivered message never run the same period twice (RELIABILITY.md JOB-04).
"""

import datetime as dt

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from customers import services
from winback import jobs

DETECTION_JOB = "detect_defections"
DIGEST_JOB = "send_at_risk_digests"
# A claim left unfinished this long belongs to a worker that died: the redelivered message may
# take it over (a finished or still-running claim never is).
RECLAIM_AFTER = dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
LIMITS = {
    "acks_late": True,
    "time_limit": settings.CELERY_TASK_TIME_LIMIT,
    "soft_time_limit": settings.CELERY_TASK_SOFT_TIME_LIMIT,
}


@shared_task(acks_late=True)
def import_run_check(run_id: int) -> None:
    services.import_run_check(run_id=run_id)


@shared_task(acks_late=True)
def import_run_execute(run_id: int) -> None:
    services.import_run_execute(run_id=run_id)


def detection_slot(*, trigger: str, full: bool, slot_seconds: int | None, now: dt.datetime) -> str:
    """The period a detection run belongs to: the business day for the scheduled runs (the weekly
    full recompute has its own), the minute for one started otherwise ("admin 2026-06-15T02:30:00+02:00"),
    or periods of `slot_seconds`."""
    if slot_seconds:
        return jobs.slot_for(now, slot_seconds)
    if trigger == "beat":
        day = timezone.localdate(now).isoformat()
        return f"{day} full" if full else day
    return f"{trigger} {jobs.slot_for(now, 60)}"


@shared_task(bind=True, **LIMITS)
def detect_defections_task(
    self, trigger: str = "beat", full: bool = False, slot_seconds: int | None = None, slot: str | None = None
) -> str:
    """Runs detection once per slot. `slot` names it outright (an import passes its own, so two
    imports in the same minute both get their run); otherwise it comes from detection_slot()."""
    from customers.detection.engine import run_detection

    slot = slot or detection_slot(trigger=trigger, full=full, slot_seconds=slot_seconds, now=timezone.now())
    claim = jobs.claim_slot(DETECTION_JOB, slot, self.request.id or "", reclaim_after=RECLAIM_AFTER)
    if claim is None:
        return f"slot {slot} already claimed"
    try:
        run = run_detection(trigger=trigger, full=full)
    except Exception as error:
        jobs.finish(claim, f"failed: {error}")
        raise
    jobs.finish(claim, f"detection run {run.pk}: {run.get_mode_display()}, {run.seconds} s")
    after_detection(run.pk)
    return f"slot {slot}: detection run {run.pk}"


def after_detection(run_id: int) -> None:
    """Starts the downstream apps' reactions to a finished run (settings.WINBACK_AFTER_DETECTION_TASKS,
    dotted paths of Celery tasks: detection knows no app downstream of it). Each task finds the work
    it has not done yet by a query, so a lost message only delays it until the task's own schedule."""
    from django.utils.module_loading import import_string

    for path in settings.WINBACK_AFTER_DETECTION_TASKS:
        import_string(path).delay(detection_run_id=run_id)


@shared_task(bind=True, **LIMITS)
def send_at_risk_digests_task(self) -> str:
    """Sends the day's at-risk digests once per business day."""
    from customers.detection.digest import send_at_risk_digests

    slot = timezone.localdate().isoformat()
    claim = jobs.claim_slot(DIGEST_JOB, slot, self.request.id or "", reclaim_after=RECLAIM_AFTER)
    if claim is None:
        return f"slot {slot} already claimed"
    try:
        sent = send_at_risk_digests()
    except Exception as error:
        jobs.finish(claim, f"failed: {error}")
        raise
    jobs.finish(claim, f"sent: {sent}")
    return f"slot {slot}: sent {sent}"
