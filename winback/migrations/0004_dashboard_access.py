"""The dashboard permission for executives and administrators (administrators may grant it to
account managers one by one), and the nightly refresh as a django-celery-beat entry."""

import json

from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = ("Executives", "Administrators")
ENTRY = "refresh-dashboard-facts"


def add_dashboard_permission(apps) -> None:
    """Executives and administrators see the dashboard (also used by the tests' ensure_roles)."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.get(content_type__app_label="winback", codename="view_dashboard")
    for group in Group.objects.filter(name__in=ROLES):
        group.permissions.add(permission)


def grant(apps, schema_editor):
    app_config = apps.get_app_config("winback")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    add_dashboard_permission(apps)
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
            "expire_seconds": 6 * 3600,
        },
    )


def revoke(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=ENTRY).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("winback", "0003_dashboard_facts"),
        ("winback", "0001_roles"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
