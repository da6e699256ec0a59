"""The survey jobs as django-celery-beat entries (created once from settings.WINBACK_BEAT_JOBS, as
customers 0008 does for the detection jobs; then administrators own their times), and the sending
bookkeeping of invitations: possible duplicates after a crash, the reminder's attempts and its
"will not be sent" mark, and the indexes of the per-minute rate limit."""

import json

from django.conf import settings
from django.db import migrations, models

# An unconsumed beat message is dropped after this long: the next tick sends a fresh one.
ENTRIES = {"send-survey-invitations": 600, "reviewer-digest": 3600}


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
        # customers 0008 creates every entry of the setting in a database migrated from scratch.
        if job is None or PeriodicTask.objects.filter(name=name).exists():
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
        ("surveys", "0003_email_templates"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="invitation", name="invitation_reminder_due"),
        migrations.AddField(
            model_name="invitation",
            name="possible_duplicates",
            field=models.PositiveSmallIntegerField(default=0, verbose_name="re-sent after a crash"),
        ),
        migrations.AddField(
            model_name="invitation",
            name="reminder_attempts",
            field=models.PositiveSmallIntegerField(default=0, verbose_name="reminder attempts"),
        ),
        migrations.AddField(
            model_name="invitation",
            name="reminder_skipped_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="reminder not sent"),
        ),
        migrations.AddIndex(
            model_name="invitation",
            index=models.Index(
                condition=models.Q(
                    ("reminder_sent_at__isnull", True),
                    ("reminder_skipped_at__isnull", True),
                    ("responded_at__isnull", True),
                    ("status", "sent"),
                ),
                fields=["sent_at"],
                name="invitation_reminder_due",
            ),
        ),
        migrations.AddIndex(
            model_name="invitation", index=models.Index(fields=["claimed_at"], name="invitation_claimed")
        ),
        migrations.AddIndex(
            model_name="invitation",
            index=models.Index(fields=["reminder_claimed_at"], name="invitation_reminder_claimed"),
        ),
        migrations.RunPython(create_entries, remove_entries),
    ]
