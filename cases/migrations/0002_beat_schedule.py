"""The cases jobs as django-celery-beat entries (created once from settings.WINBACK_BEAT_JOBS, as
customers 0008 and surveys 0004 do; then administrators own their times)."""

import json

from django.conf import settings
from django.db import migrations

# An unconsumed beat message is dropped after this long: the next hourly tick sends a fresh one.
ENTRIES = {"cases-housekeeping": 3600, "cases-overdue-digest": 3600}


def crontab_fields(text: str, name: str) -> dict:
    fields = text.split()
    if len(fields) != 5:
        raise ValueError(f"The crontab of {name} needs five fields (minute hour day month weekday), not {text!r}.")
    keys = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
    return dict(zip(keys, fields, strict=True))


def create_entries(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, expire_seconds in ENTRIES.items():
        job = settings.WINBACK_BEAT_JOBS.get(name)
        if job is None:
            continue
        task = PeriodicTask.objects.filter(name=name).first()
        if task is not None:
            # customers 0008 created it from the setting in a database migrated from scratch;
            # give it the hourly expiry (its times stay as they are).
            if task.expire_seconds is None or task.expire_seconds > expire_seconds:
                task.expire_seconds = expire_seconds
                task.save(update_fields=["expire_seconds"])
            continue
        schedule, _ = CrontabSchedule.objects.get_or_create(
            **crontab_fields(job["crontab"], name), timezone=settings.TIME_ZONE
        )
        PeriodicTask.objects.create(
            name=name,
            task=job["task"],
            crontab=schedule,
            kwargs=json.dumps(job["kwargs"]),
            description=job["description"],
            expire_seconds=expire_seconds,
        )


def remove_entries(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=list(ENTRIES)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0001_cases"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_entries, remove_entries)]
