"""The retention job (winback.privacy.tasks.purge_expired_answers_task, daily) as a
django-celery-beat entry, for databases whose beat entries were created before it existed
(customers 0008 creates every entry of settings.WINBACK_BEAT_JOBS on a new database)."""

from django.db import migrations

from winback.beat_entries import add_beat_entry, remove_beat_entry

ENTRY = "purge-expired-answers"


def create_entry(apps, schema_editor):
    add_beat_entry(apps, ENTRY, expire_seconds=12 * 3600)


def remove_entry(apps, schema_editor):
    remove_beat_entry(apps, ENTRY)


class Migration(migrations.Migration):
    dependencies = [
        ("winback", "0006_jobrun_latest_index"),
        ("customers", "0008_beat_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_entry, remove_entry)]
