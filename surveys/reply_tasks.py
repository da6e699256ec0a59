"""Celery tasks of the reviewer inbox: sending a reply to a respondent (close the loop, invitation
to return) and the hourly reviewer digest. Registered with the worker through surveys/tasks.py
(`from surveys.reply_tasks import *`).

Both acknowledge late and are idempotent: a reply is sent only from a pending row claimed under a
row lock (always with its own fixed Message-ID), and the digest claims its hour's slot first.
"""

import random

from celery import shared_task
from django.conf import settings

from surveys.services import replies, review

__all__ = ["send_response_reply_task", "send_reviewer_digest_task"]

LIMITS = {
    "acks_late": True,
    "time_limit": min(settings.CELERY_TASK_TIME_LIMIT, 300),
    "soft_time_limit": min(settings.CELERY_TASK_SOFT_TIME_LIMIT, 270),
}
MAX_RETRIES = 5


MAX_COUNTDOWN = 300  # a delayed message waits unacknowledged in a worker: keep it short (JOB-06)


def retry_countdown(retries: int) -> int:
    """60 s, doubling, with jitter, at most five minutes."""
    base = min(60 * 2**retries, MAX_COUNTDOWN)
    return min(int(base * random.uniform(0.8, 1.2)), MAX_COUNTDOWN)  # noqa: S311 (spreading retries)


@shared_task(bind=True, name="surveys.send_response_reply", max_retries=MAX_RETRIES, **LIMITS)
def send_response_reply_task(self, reply_id: int) -> str:
    final = self.request.retries >= MAX_RETRIES
    try:
        return replies.reply_deliver(reply_id=reply_id, final_attempt=final)
    except replies.TransientSendError as error:
        raise self.retry(exc=error, countdown=retry_countdown(self.request.retries)) from error


@shared_task(bind=True, name="surveys.send_reviewer_digest", **LIMITS)
def send_reviewer_digest_task(self) -> str:
    return review.send_reviewer_digest(task_id=self.request.id or "")
