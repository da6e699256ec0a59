"""The scheduled jobs as django-celery-beat entries (STYLE.md): created once from
settings.WINBACK_BEAT_JOBS, then owned by administrators, who change times in the admin."""

import json

from django.conf import settings
from django.db import migrations


def crontab_fields(text: str, name: str) -> dict:
    fields = text.split()
    if len(fields) != 5:
        raise ValueError(f"The crontab of {name} needs five fields (minute hour day month weekday), not {text!r}.")
    keys = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
    return dict(zip(keys, fields, strict=True))


def create_entries(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, job in settings.WINBACK_BEAT_JOBS.items():
        if PeriodicTask.objects.filter(name=name).exists():
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
            expire_seconds=6 * 3600,
        )


def remove_entries(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=list(settings.WINBACK_BEAT_JOBS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0007_rule_db_defaults"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_entries, remove_entries)]
