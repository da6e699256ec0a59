"""What each periodic job last did and which jobs are overdue (the staff Jobs page and the alert).

The jobs are django-celery-beat's PeriodicTask entries (settings.WINBACK_BEAT_JOBS, then edited in
the admin). Each records its runs somewhere: detection in DetectionRun, the dashboard refresh in
FactRefresh, the others in their JobRun slots (winback.jobs), whose outcome starts with "failed:"
when the run raised. A job is overdue when two of its scheduled times have passed since its last
success ("no success in twice its interval"), plus a grace of one interval (at most 30 minutes) for
the run that is under way.
"""

import datetime as dt
import json
from dataclasses import dataclass
from functools import reduce
from operator import or_

from celery import schedules
from django.db.models import Count, Max, Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_celery_beat.models import PeriodicTask

from cases.tasks import DIGEST_JOB as CASE_DIGEST_JOB
from cases.tasks import HOUSEKEEPING_JOB
from customers.models import DetectionRun
from customers.tasks import DIGEST_JOB as AT_RISK_DIGEST_JOB
from surveys.models import Invitation, InvitationStatus
from surveys.services.review import DIGEST_JOB as REVIEWER_DIGEST_JOB
from surveys.tasks import SEND_JOB
from winback.dashboard.models import FactRefresh
from winback.models import JobRun

CHECK_JOB = "check_jobs"
GRACE_CAP = dt.timedelta(minutes=30)
FAILURES_SHOWN = 10
FAILED_PREFIX = "failed:"


@dataclass(frozen=True)
class Source:
    """Where a job's runs are recorded: "jobrun" (JobRun rows of `job`), "detection" or "refresh"."""

    kind: str
    job: str = ""
    full_only: bool = False
    # False for a job that leaves no record when it has nothing to do: it cannot be judged overdue.
    records_when_idle: bool = True


TASK_SOURCES = {
    "winback.dashboard.tasks.refresh_dashboard_task": Source("refresh"),
    "customers.tasks.send_at_risk_digests_task": Source("jobrun", AT_RISK_DIGEST_JOB),
    "surveys.tasks.send_survey_invitations": Source("jobrun", SEND_JOB),
    "surveys.send_reviewer_digest": Source("jobrun", REVIEWER_DIGEST_JOB, records_when_idle=False),
    "cases.tasks.case_housekeeping_task": Source("jobrun", HOUSEKEEPING_JOB),
    "cases.tasks.send_overdue_digests_task": Source("jobrun", CASE_DIGEST_JOB),
    "winback.ops.check_jobs_task": Source("jobrun", CHECK_JOB),
    "winback.privacy.tasks.purge_expired_answers_task": Source("jobrun", "answer_retention"),
}
DETECTION_TASK = "customers.tasks.detect_defections_task"


def source_for(task: PeriodicTask) -> Source | None:
    if task.task == DETECTION_TASK:
        try:
            full = bool(json.loads(task.kwargs or "{}").get("full"))
        except (ValueError, AttributeError):
            full = False
        return Source("detection", full_only=full)
    return TASK_SOURCES.get(task.task)


@dataclass
class Run:
    started_at: dt.datetime
    finished_at: dt.datetime | None
    ok: bool | None  # None while running
    summary: str
    error: str
    seconds: float | None

    @property
    def duration(self) -> str:
        if self.seconds is None:
            return ""
        if self.seconds < 120:
            return f"{self.seconds:.1f} s"
        return f"{self.seconds / 60:.1f} min"


@dataclass
class JobStatus:
    task: PeriodicTask
    source: Source | None
    last_run: Run | None
    last_success_at: dt.datetime | None
    baseline: dt.datetime | None  # the last success, or the first record when it never succeeded
    due_by: dt.datetime | None
    overdue: bool

    @property
    def checked(self) -> bool:
        return bool(self.task.enabled and self.source and self.source.records_when_idle and self.due_by)


@dataclass
class Failure:
    at: dt.datetime
    job: str
    error: str


@dataclass
class Board:
    now: dt.datetime
    jobs: list[JobStatus]
    failures: list[Failure]
    invitations: dict


def next_fire(schedule, after: dt.datetime) -> dt.datetime | None:
    """The first scheduled time strictly after `after` (crontab and interval schedules)."""
    if isinstance(schedule, schedules.crontab):
        start, delta, _now = schedule.remaining_delta(after)
        return start + delta
    if isinstance(schedule, schedules.schedule):
        return after + schedule.run_every
    return None  # solar and clocked entries are not judged


def due_by(schedule, baseline: dt.datetime) -> dt.datetime | None:
    """When a job last successful at `baseline` becomes overdue: its second scheduled time after
    it, plus one interval of grace (capped) for the run started then."""
    first = next_fire(schedule, baseline)
    second = next_fire(schedule, first) if first else None
    if second is None:
        return None
    return second + min(second - first, GRACE_CAP)


def success_q() -> Q:
    return Q(finished_at__isnull=False) & ~Q(outcome__startswith=FAILED_PREFIX)


def _jobrun_run(row: JobRun) -> Run:
    failed = row.outcome.startswith(FAILED_PREFIX)
    seconds = (row.finished_at - row.started_at).total_seconds() if row.finished_at else None
    return Run(
        started_at=row.started_at,
        finished_at=row.finished_at,
        ok=None if row.finished_at is None else not failed,
        summary="" if failed else row.outcome,
        error=row.outcome[len(FAILED_PREFIX) :].strip() if failed else "",
        seconds=seconds,
    )


def _detection_summary(summary: dict) -> str:
    keys = ("scanned", "figures_updated", "newly_at_risk", "newly_defected_passive", "newly_defected_active")
    keys += ("won_back", "relapsed", "events_opened", "events_closed")
    return ", ".join(f"{key.replace('_', ' ')} {summary[key]:,}" for key in keys if key in summary)


def _record_run(row) -> Run:
    """A DetectionRun or FactRefresh as a Run."""
    status = row.Status
    if isinstance(row, DetectionRun):
        summary = _detection_summary(row.summary or {})
    else:
        summary = _("%(rows)s rows in %(tables)s tables") % {
            "rows": f"{sum((row.rows or {}).values()):,}",
            "tables": len(row.rows or {}),
        }
    ok = {status.DONE: True, status.FAILED: False}.get(row.status)
    return Run(
        row.started_at, row.finished_at, ok, summary if ok else "", row.error, row.seconds if ok is not None else None
    )


def _jobrun_records(names: list[str]) -> dict[str, dict]:
    """Per JobRun job: last run, last success time and first record (two queries)."""
    if not names:
        return {}
    stats = {
        row["job"]: row
        for row in JobRun.objects.filter(job__in=names)
        .values("job")
        .annotate(last_started=Max("started_at"), last_success=Max("finished_at", filter=success_q()))
        .annotate(first=Min("started_at"))
    }
    if stats:
        latest = reduce(or_, (Q(job=job, started_at=row["last_started"]) for job, row in stats.items()))
        for row in JobRun.objects.filter(latest).order_by("id"):
            stats[row.job]["last"] = _jobrun_run(row)
    return stats


def _detection_records() -> dict[bool, dict]:
    """Detection's last run, last success and first record, for any mode (False) and full only (True)."""
    runs = DetectionRun.objects.filter(dry_run=False).exclude(mode=DetectionRun.Mode.AS_OF)
    done, full = Q(status=DetectionRun.Status.DONE), Q(mode=DetectionRun.Mode.FULL)
    agg = runs.aggregate(
        success=Max("finished_at", filter=done),
        success_full=Max("finished_at", filter=done & full),
        first=Min("started_at"),
        first_full=Min("started_at", filter=full),
    )
    last_any = runs.order_by("-started_at", "-id").first()
    last_full = runs.filter(full).order_by("-started_at", "-id").first()
    return {
        False: {"last_success": agg["success"], "first": agg["first"], "last": last_any and _record_run(last_any)},
        True: {
            "last_success": agg["success_full"],
            "first": agg["first_full"],
            "last": last_full and _record_run(last_full),
        },
    }


def _refresh_records() -> dict:
    agg = FactRefresh.objects.aggregate(
        last_success=Max("finished_at", filter=Q(status=FactRefresh.Status.DONE)), first=Min("started_at")
    )
    last = FactRefresh.objects.order_by("-started_at", "-id").first()
    return {**agg, "last": last and _record_run(last)}


def job_statuses(*, now: dt.datetime | None = None) -> list[JobStatus]:
    """Every beat entry with its last run, last success and whether it is overdue (a fixed number
    of queries, whatever the number of runs recorded)."""
    now = now or timezone.now()
    tasks = list(PeriodicTask.objects.select_related("crontab", "interval", "solar", "clocked").order_by("name"))
    sources = {task.pk: source_for(task) for task in tasks}
    kinds = {source.kind for source in sources.values() if source}
    jobrun = _jobrun_records(sorted({s.job for s in sources.values() if s and s.kind == "jobrun"}))
    detection = _detection_records() if "detection" in kinds else {}
    refresh = _refresh_records() if "refresh" in kinds else {}
    firsts = [row["first"] for row in jobrun.values() if row["first"]]
    monitoring_since = min(firsts) if firsts else None  # when scheduled work was first recorded
    statuses = []
    for task in tasks:
        source = sources[task.pk]
        if source is None:
            records = {}
        elif source.kind == "jobrun":
            records = jobrun.get(source.job, {})
        elif source.kind == "detection":
            records = detection[source.full_only]
        else:
            records = refresh
        last_success = records.get("last_success")
        baseline = last_success or records.get("first") or monitoring_since
        deadline = due_by(task.schedule, baseline) if baseline and source else None
        status = JobStatus(task, source, records.get("last"), last_success, baseline, deadline, overdue=False)
        status.overdue = status.checked and now > deadline
        statuses.append(status)
    return statuses


def recent_failures(limit: int = FAILURES_SHOWN) -> list[Failure]:
    """The last failures of every job, newest first (three queries)."""
    names = sorted({source.job for source in TASK_SOURCES.values()})
    failures = [
        Failure(row.started_at, row.job, _jobrun_run(row).error)
        for row in JobRun.objects.filter(job__in=names, outcome__startswith=FAILED_PREFIX).order_by("-started_at")[
            :limit
        ]
    ]
    for model, label in ((DetectionRun, _("detection")), (FactRefresh, _("dashboard refresh"))):
        rows = model.objects.filter(status=model.Status.FAILED)
        if model is DetectionRun:
            rows = rows.filter(dry_run=False)
        failures += [Failure(row.started_at, str(label), row.error) for row in rows.order_by("-started_at")[:limit]]
    return sorted(failures, key=lambda failure: failure.at, reverse=True)[:limit]


def invitation_counts() -> dict:
    """Invitations waiting to be sent, being sent and failed, with the oldest waiting one (one query)."""
    statuses = [InvitationStatus.PENDING, InvitationStatus.SENDING, InvitationStatus.FAILED]
    rows = (
        Invitation.objects.filter(status__in=statuses)
        .values("status")
        .annotate(n=Count("id"), oldest=Min("created_at"))
    )
    by_status = {row["status"]: row for row in rows}
    counts = {status.value: by_status.get(status, {}).get("n", 0) for status in statuses}
    counts["oldest_pending"] = by_status.get(InvitationStatus.PENDING, {}).get("oldest")
    return counts


def job_board(*, now: dt.datetime | None = None) -> Board:
    now = now or timezone.now()
    return Board(now, job_statuses(now=now), recent_failures(), invitation_counts())
