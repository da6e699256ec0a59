"""Intensive care: a won-back customer gets a health review task every few months for a while
(CaseSettings: every 6 months for 24 months by default), assigned to the case owner."""

import datetime as dt

from dateutil.relativedelta import relativedelta
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Case, CaseSettings, Task


def review_dates(start: dt.date, settings: CaseSettings) -> list[dt.date]:
    steps = settings.care_duration_months // settings.care_interval_months
    return [start + relativedelta(months=settings.care_interval_months * n) for n in range(1, steps + 1)]


def schedule_health_reviews(case: Case, *, start: dt.datetime) -> list[Task]:
    """Creates the case's health review tasks unless it has open ones already (a win-back after a
    reopening replaces none and adds none twice)."""
    if case.tasks.filter(kind=Task.Kind.HEALTH_REVIEW, done_at__isnull=True).exists():
        return []
    settings = CaseSettings.load()
    day = timezone.localdate(start)
    tasks = [
        Task(
            case=case,
            kind=Task.Kind.HEALTH_REVIEW,
            title=_("Health review %(n)s of %(total)s") % {"n": n, "total": len(dates)},
            assignee_id=case.owner_id,
            due_on=due,
        )
        for dates in [review_dates(day, settings)]
        for n, due in enumerate(dates, start=1)
    ]
    return Task.objects.bulk_create(tasks)
