"""The retention job (daily, beat entry "purge-expired-answers" from winback 0007): claims the
day's slot (winback.jobs), so a second beat or a redelivered message does nothing, then blanks the
free-text answers past retention (winback.privacy.retention)."""

import datetime as dt

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from winback import jobs

RETENTION_JOB = "answer_retention"
DAY = 24 * 3600


@shared_task(
    bind=True,
    name="winback.privacy.tasks.purge_expired_answers_task",
    acks_late=True,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
)
def purge_expired_answers_task(self, slot_seconds: int | None = None) -> str:
    from winback.privacy.retention import purge_expired_answers

    slot = jobs.slot_for(timezone.now(), slot_seconds or DAY)
    reclaim = dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    claim = jobs.claim_slot(RETENTION_JOB, slot, self.request.id or "", reclaim_after=reclaim)
    if claim is None:
        return f"slot {slot} already claimed"
    try:
        counts = purge_expired_answers()
    except Exception as error:
        jobs.finish(claim, f"failed: {error}")
        raise
    outcome = f"purged {counts['answers']} answers, cut {counts['quotes']} quotations"
    jobs.finish(claim, outcome)
    return f"slot {slot}: {outcome}"
