"""Adding one job of settings.WINBACK_BEAT_JOBS to django-celery-beat from a data migration, for
databases whose beat entries were created before the job existed (customers 0008 creates every
entry on a new database; afterwards administrators own the times in the admin)."""

import json

from django.conf import settings


def add_beat_entry(apps, name: str, *, expire_seconds: int) -> None:
    job = settings.WINBACK_BEAT_JOBS.get(name)
    if job is None:
        return
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    minute, hour, day, month, weekday = job["crontab"].split()
    schedule, _ = CrontabSchedule.objects.get_or_create(
        minute=minute,
        hour=hour,
        day_of_month=day,
        month_of_year=month,
        day_of_week=weekday,
        timezone=settings.TIME_ZONE,
    )
    PeriodicTask.objects.get_or_create(
        name=name,
        defaults={
            "task": job["task"],
            "crontab": schedule,
            "kwargs": json.dumps(job["kwargs"]),
            "description": job["description"],
            "expire_seconds": expire_seconds,
        },
    )


def remove_beat_entry(apps, name: str) -> None:
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=name).delete()
