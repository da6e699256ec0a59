"""The dashboard refresh job: nightly (beat), after each detection run and on demand.

A refresh rebuilds the fact tables from scratch in one transaction under an advisory lock, so a
second message, a retry or a concurrent run only repeats the same work; it sends nothing.
"""

from celery import shared_task
from django.conf import settings


@shared_task(
    name="winback.dashboard.tasks.refresh_dashboard_task",
    acks_late=True,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
)
def refresh_dashboard_task(detection_run_id: int | None = None, trigger: str = "beat") -> str:
    from winback.dashboard.refresh import refresh_facts

    run = refresh_facts(trigger=f"detection run {detection_run_id}" if detection_run_id else trigger)
    return f"refresh {run.pk}: {run.seconds} s"
