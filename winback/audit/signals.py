"""Celery tasks run inside an audit context carrying the task id and name, so that the rows their
changes write say which task did it (docs/audit.md). Connected when the audit app is ready."""

from celery.signals import task_postrun, task_prerun

from winback.audit import context

_open: dict[str, object] = {}


@task_prerun.connect(dispatch_uid="winback.audit.task_prerun")
def enter_task_context(task_id=None, task=None, **kwargs) -> None:
    entered = context.task_context(task_id=task_id or "", task_name=getattr(task, "name", ""))
    if entered is not None:
        _open[task_id] = entered


@task_postrun.connect(dispatch_uid="winback.audit.task_postrun")
def leave_task_context(task_id=None, **kwargs) -> None:
    entered = _open.pop(task_id, None)
    if entered is not None:
        entered.__exit__(None, None, None)
