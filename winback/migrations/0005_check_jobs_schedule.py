"""The overdue-jobs check (winback.ops.check_jobs_task, every 15 minutes) as a django-celery-beat
entry, for databases whose beat entries were created before it existed (customers 0008 creates
every entry of settings.WINBACK_BEAT_JOBS on a new database)."""

import json

from django.conf import settings
from django.db import migrations

ENTRY = "check-jobs"


def create_entry(apps, schema_editor):
    job = settings.WINBACK_BEAT_JOBS.get(ENTRY)
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
        name=ENTRY,
        defaults={
            "task": job["task"],
            "crontab": schedule,
            "kwargs": json.dumps(job["kwargs"]),
            "description": job["description"],
            "expire_seconds": 15 * 60,
        },
    )


def remove_entry(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=ENTRY).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("winback", "0004_dashboard_access"),
        ("customers", "0008_beat_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_entry, remove_entry)]
