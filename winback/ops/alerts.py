"""The alert to administrators about overdue jobs, and the beat job that sends it."""

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from winback import jobs
from winback.models import JobRun
from winback.ops.board import CHECK_JOB, FAILED_PREFIX, JobStatus, job_statuses
from winback.roles import Role

logger = logging.getLogger(__name__)

CHECK_PERIOD_SECONDS = 15 * 60
ALERT_JOB = "overdue alert"  # JobRun(job="overdue alert <entry>", slot=<last success>): one per spell


def _administrators_emails() -> list[str]:
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    users = users.filter(Q(groups__name=Role.ADMINISTRATOR) | Q(is_superuser=True)).distinct()
    return sorted(users.values_list("email", flat=True))


def _alert_message(overdue: list[JobStatus], recipients: list[str]) -> EmailMultiAlternatives:
    context = {
        "jobs": overdue,
        "jobs_url": settings.SITE_URL.rstrip("/") + reverse("staff:jobs"),
        "company": settings.WINBACK_COMPANY_NAME,
    }
    subject = _("Winback: %(count)s job(s) overdue: %(names)s") % {
        "count": len(overdue),
        "names": ", ".join(status.task.name for status in overdue),
    }
    message = EmailMultiAlternatives(
        subject=subject[:200],
        body=render_to_string("winback/email/jobs_overdue.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    message.attach_alternative(render_to_string("winback/email/jobs_overdue.html", context), "text/html")
    return message


def alert_overdue_jobs(*, now: dt.datetime | None = None) -> list[str]:
    """Emails the administrators about the jobs that became overdue, once per overdue spell: each
    alert claims JobRun("overdue alert <entry>", <last success>), so the same spell is never
    announced twice (a later success starts a new spell). Returns the names alerted about.
    When the email cannot be sent the claims are given back and the next check tries again."""
    now = now or timezone.now()
    claims, overdue = [], []
    for status in job_statuses(now=now):
        if not status.overdue or status.source.job == CHECK_JOB:
            continue
        spell = status.baseline.astimezone(dt.UTC).isoformat(timespec="seconds")
        claim = jobs.claim_slot(f"{ALERT_JOB} {status.task.name}"[:100], spell)
        if claim is not None:
            claims.append(claim)
            overdue.append(status)
    if not overdue:
        return []
    recipients = _administrators_emails()
    try:
        if not recipients:
            raise RuntimeError("no active administrator has an email address")
        with translation.override(settings.LANGUAGE_CODE):
            _alert_message(overdue, recipients).send()
    except Exception:
        JobRun.objects.filter(pk__in=[claim.pk for claim in claims]).delete()
        logger.exception("overdue-jobs alert about %s not sent", [status.task.name for status in overdue])
        raise
    for claim in claims:
        jobs.finish(claim, f"emailed {len(recipients)} administrators")
    names = [status.task.name for status in overdue]
    logger.warning("overdue jobs, administrators alerted: %s", names)
    return names


@shared_task(name="winback.ops.check_jobs_task", bind=True, acks_late=True, time_limit=300, soft_time_limit=280)
def check_jobs_task(self) -> str:
    """The beat job (every 15 minutes): alerts the administrators about overdue jobs."""
    slot = jobs.slot_for(timezone.now(), CHECK_PERIOD_SECONDS)
    claim = jobs.claim_slot(CHECK_JOB, slot, self.request.id or "")
    if claim is None:
        return f"slot {slot} already claimed"
    try:
        names = alert_overdue_jobs()
    except Exception as error:
        jobs.finish(claim, f"{FAILED_PREFIX} {error}")
        raise
    outcome = f"alerted: {', '.join(names)}" if names else "no new overdue job"
    jobs.finish(claim, outcome)
    return outcome
