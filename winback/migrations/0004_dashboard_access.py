"""The dashboard permission for executives and administrators (administrators may grant it to
account managers one by one), and the nightly refresh as a django-celery-beat entry."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from winback.beat_entries import add_beat_entry, remove_beat_entry

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
    add_beat_entry(apps, ENTRY, expire_seconds=6 * 3600)


def revoke(apps, schema_editor):
    remove_beat_entry(apps, ENTRY)


class Migration(migrations.Migration):
    dependencies = [
        ("winback", "0003_dashboard_facts"),
        ("winback", "0001_roles"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
