"""Celery wrappers for imports: ids in, one service call, idempotent (the service claims the run)."""

from celery import shared_task

from customers import services


@shared_task(acks_late=True)
def import_run_check(run_id: int) -> None:
    services.import_run_check(run_id=run_id)


@shared_task(acks_late=True)
def import_run_execute(run_id: int) -> None:
    services.import_run_execute(run_id=run_id)
