"""The Celery task that sends a case email (cases.services.case_email). Enqueued on commit by
send_case_email; idempotent: only a pending row claimed under a row lock is sent, always with the
Message-ID fixed when it was stored.

Celery's autodiscovery reads cases/tasks.py; that module imports this one so workers register it.
"""

import random

from celery import shared_task
from django.conf import settings

from cases.services import case_email

__all__ = ["send_case_email_task"]

MAX_RETRIES = 5
MAX_COUNTDOWN = 300  # a delayed message waits unacknowledged in a worker: keep it short (JOB-06)
LIMITS = {
    "acks_late": True,
    "time_limit": min(settings.CELERY_TASK_TIME_LIMIT, 300),
    "soft_time_limit": min(settings.CELERY_TASK_SOFT_TIME_LIMIT, 270),
}


def retry_countdown(retries: int) -> int:
    """60 s, doubling, with jitter, at most five minutes."""
    base = min(60 * 2**retries, MAX_COUNTDOWN)
    return min(int(base * random.uniform(0.8, 1.2)), MAX_COUNTDOWN)  # noqa: S311 (spreading retries)


@shared_task(bind=True, name="cases.send_case_email", max_retries=MAX_RETRIES, **LIMITS)
def send_case_email_task(self, activity_id: int) -> str:
    final = self.request.retries >= MAX_RETRIES
    try:
        return case_email.deliver(activity_id=activity_id, final_attempt=final)
    except case_email.TransientSendError as error:
        raise self.retry(exc=error, countdown=retry_countdown(self.request.retries)) from error
