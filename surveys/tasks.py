"""Celery wrappers of the survey jobs: ids in (or nothing), one service call, idempotent.

The beat job (every 2 minutes, WINBACK_SURVEY_SEND_CRON) claims its minute's slot (winback.jobs,
JOB-04), creates the invitations of new defection events and, in the same transaction, arranges
the send batches to be enqueued on commit (JOB-09): a rolled-back run enqueues nothing. The batch
tasks acknowledge late and claim whatever rows the database says are due, so a redelivered or
duplicated message sends nothing twice (JOB-01, JOB-06); their countdowns stay within the beat
period, far below the broker's visibility timeout.
"""

import datetime as dt
import importlib.util

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from surveys.services import invitations, sending
from winback import jobs

# The reply and reviewer-digest tasks live in their own module; importing them here registers
# them with the worker (autodiscovery imports `surveys.tasks`).
if importlib.util.find_spec("surveys.reply_tasks") is not None:
    from surveys.reply_tasks import *  # noqa: F401,F403

SEND_JOB = "send_survey_invitations"
# The beat entry's period: the batches of one tick are spread over it when the rate limit binds.
DISPATCH_PERIOD_SECONDS = 120
# A batch of 100 messages takes seconds; the hard limit must stay below sending.LEASE, so a live
# task's claim never expires under it.
SEND_TIME_LIMIT = 300
SEND_SOFT_TIME_LIMIT = 280
RECLAIM_AFTER = dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
SEND_LIMITS = {"acks_late": True, "time_limit": SEND_TIME_LIMIT, "soft_time_limit": SEND_SOFT_TIME_LIMIT}
JOB_LIMITS = {
    "acks_late": True,
    "time_limit": settings.CELERY_TASK_TIME_LIMIT,
    "soft_time_limit": settings.CELERY_TASK_SOFT_TIME_LIMIT,
}


@shared_task(**SEND_LIMITS)
def send_invitation_batch_task(limit: int = sending.BATCH_SIZE) -> dict[str, int]:
    return sending.send_invitation_batch(limit=limit)


@shared_task(**SEND_LIMITS)
def send_reminder_batch_task(limit: int = sending.BATCH_SIZE) -> dict[str, int]:
    return sending.send_reminder_batch(limit=limit)


BATCH_TASKS = {"invitation": send_invitation_batch_task, "reminder": send_reminder_batch_task}


def create_and_enqueue(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Creates the invitations and enqueues the send batches when the caller's transaction
    commits (nothing at all if it rolls back). Returns the creation counts and `batches`."""
    now = now or timezone.now()
    counts = invitations.create_invitations(now=now)
    plan = sending.plan_batches(now=now, period_seconds=DISPATCH_PERIOD_SECONDS)
    for kind, countdown in plan:
        if countdown:
            BATCH_TASKS[kind].apply_async_on_commit(countdown=countdown)
        else:
            BATCH_TASKS[kind].delay_on_commit()
    return {**counts, "batches": len(plan)}


@shared_task(bind=True, **JOB_LIMITS)
def send_survey_invitations(self, slot: str | None = None) -> str:
    """The beat job: once per slot (the minute, unless `slot` names one)."""
    now = timezone.now()
    slot = slot or jobs.slot_for(now, 60)
    claim = jobs.claim_slot(SEND_JOB, slot, self.request.id or "", reclaim_after=RECLAIM_AFTER)
    if claim is None:
        return f"slot {slot} already claimed"
    try:
        with transaction.atomic():
            counts = create_and_enqueue(now=now)
    except Exception as error:
        jobs.finish(claim, f"failed: {error}")
        raise
    summary = ", ".join(f"{key} {value}" for key, value in counts.items())
    jobs.finish(claim, summary)
    return f"slot {slot}: {summary}"
