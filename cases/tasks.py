"""Celery wrappers for the cases jobs (the jobs area fills these in)."""

from celery import shared_task


@shared_task(acks_late=True)
def case_housekeeping_task(detection_run_id: int | None = None) -> str:
    from cases.services.housekeeping import run_housekeeping

    return run_housekeeping(detection_run_id=detection_run_id)
