"""The overdue-jobs check (winback.ops.check_jobs_task, every 15 minutes) as a django-celery-beat
entry, for databases whose beat entries were created before it existed (customers 0008 creates
every entry of settings.WINBACK_BEAT_JOBS on a new database)."""

from django.db import migrations

from winback.beat_entries import add_beat_entry, remove_beat_entry

ENTRY = "check-jobs"


def create_entry(apps, schema_editor):
    add_beat_entry(apps, ENTRY, expire_seconds=15 * 60)


def remove_entry(apps, schema_editor):
    remove_beat_entry(apps, ENTRY)


class Migration(migrations.Migration):
    dependencies = [
        ("winback", "0004_dashboard_access"),
        ("customers", "0008_beat_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_entry, remove_entry)]
