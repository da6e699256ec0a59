"""Creates the three staff roles as groups with their permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MANAGER_PERMS = [
    "customers.view_customer",
    "customers.add_customer",
    "customers.change_customer",
    "customers.export_customers",
    "customers.view_segment",
    "customers.view_transaction",
    "customers.view_interaction",
    "customers.add_interaction",
    "customers.change_interaction",
]
EXECUTIVE_PERMS = [
    "customers.view_customer",
    "customers.export_customers",
    "customers.view_segment",
    "customers.view_transaction",
    "customers.view_interaction",
    "customers.view_importrun",
]
ADMIN_APPS = ["customers", "django_celery_beat"]
ADMIN_EXTRA = [
    "auth.view_user",
    "auth.add_user",
    "auth.change_user",
    "auth.view_group",
]


def _perms(apps, names):
    Permission = apps.get_model("auth", "Permission")
    found = []
    for name in names:
        app_label, codename = name.split(".")
        found.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return found


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; roles need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    create_groups(apps)


def create_groups(apps):
    """The three groups with their permissions (the permissions must exist)."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    managers, _ = Group.objects.get_or_create(name="Account managers")
    managers.permissions.set(_perms(apps, MANAGER_PERMS))
    executives, _ = Group.objects.get_or_create(name="Executives")
    executives.permissions.set(_perms(apps, EXECUTIVE_PERMS))
    admins, _ = Group.objects.get_or_create(name="Administrators")
    admin_perms = list(Permission.objects.filter(content_type__app_label__in=ADMIN_APPS))
    admins.permissions.set(admin_perms + _perms(apps, ADMIN_EXTRA))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(
        name__in=["Account managers", "Executives", "Administrators"]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("customers", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
