"""Run-once slots for scheduled jobs (RELIABILITY.md JOB-04).

Celery beat has no leader election: two beat processes (a deploy overlapping the old one, a second
host started by mistake) both send every due entry, and a late-acked message can be delivered twice.
A job therefore claims its slot first — one `JobRun(job, slot)` row, unique in the database — and
does nothing when the row is already there. The slot names the period the run belongs to (a day, a
minute, an import), so every period runs once whoever sends the message and however often.
"""

import datetime as dt

from django.db import connection
from django.utils import timezone

from winback.models import JobRun


def slot_for(now: dt.datetime, period_seconds: int) -> str:
    """The start of the period of `period_seconds` that `now` falls in, as an ISO string in the
    business time zone. Periods are counted from the Unix epoch, so every process agrees on them."""
    if period_seconds <= 0:
        raise ValueError("period_seconds must be positive")
    start = int(now.timestamp()) // period_seconds * period_seconds
    return timezone.localtime(dt.datetime.fromtimestamp(start, tz=dt.UTC)).isoformat()


def claim_slot(job: str, slot: str, task_id: str = "", *, reclaim_after: dt.timedelta | None = None) -> JobRun | None:
    """Inserts the `JobRun(job, slot)` row and returns it; None when the slot is taken.

    One statement with ON CONFLICT DO NOTHING: when two claims race, the second waits for the first
    to commit and then inserts nothing, so no IntegrityError is raised (and none is logged).
    With `reclaim_after`, a claim left unfinished for longer than that (its worker was killed and
    the message redelivered) is taken over instead; a finished one never is.
    """
    now = timezone.now()
    table = JobRun._meta.db_table
    adapt = connection.ops.adapt_datetimefield_value  # raw SQL: store times as the ORM does
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (job, slot, started_at, task_id, outcome) VALUES (%s, %s, %s, %s, '') "
            f"ON CONFLICT (job, slot) DO NOTHING RETURNING id",
            [job, slot, adapt(now), task_id[:64]],
        )
        row = cursor.fetchone()
        if row is None and reclaim_after is not None:
            cursor.execute(
                f"UPDATE {table} SET started_at = %s, task_id = %s, outcome = 'reclaimed' "
                f"WHERE job = %s AND slot = %s AND finished_at IS NULL AND started_at < %s RETURNING id",
                [adapt(now), task_id[:64], job, slot, adapt(now - reclaim_after)],
            )
            row = cursor.fetchone()
    if row is None:
        return None
    job_run = JobRun(pk=row[0], job=job, slot=slot, started_at=now, task_id=task_id[:64])
    job_run._state.adding = False
    return job_run


def finish(job_run: JobRun, outcome: str) -> JobRun:
    """Records that the claimed run ended and how (shown in the admin)."""
    job_run.finished_at = timezone.now()
    job_run.outcome = outcome[:200]
    job_run.save(update_fields=["finished_at", "outcome"])
    return job_run
