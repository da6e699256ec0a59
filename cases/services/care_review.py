"""Completing a health review (intensive care): the task is marked done with the reviewer's notes,
and the case's timeline says so."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import CaseEvent, Task
from cases.services import history


@transaction.atomic
def complete_health_review(*, task: Task, actor, notes: str = "") -> Task:
    """Marks the review done (once: a second submission changes nothing). The caller checks
    permission (cases.policy.can_complete_task)."""
    task = Task.objects.select_for_update().select_related("case").get(pk=task.pk)
    if task.done_at is not None:
        return task
    notes = (notes or "").strip()
    task.done_at = timezone.now()
    task.done_by = actor
    if notes:
        task.notes = f"{task.notes}\n\n{notes}".strip() if task.notes else notes
    task.save(update_fields=["done_at", "done_by", "notes"])
    summary = _("Health review done: %(title)s") % {"title": task.title}
    if notes:
        summary = f"{summary}: {notes}"
    history.record(
        task.case,
        CaseEvent.Kind.TASK,
        summary,
        actor=actor,
        before={"task": task.pk, "done": False},
        after={"task": task.pk, "done": True, "notes": notes[:200]},
    )
    return task
