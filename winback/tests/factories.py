import importlib

import factory
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group

DEMO_TEST_PASSWORD = "correct horse battery staple"


def ensure_roles() -> None:
    """The role groups come from a data migration; a transactional test's flush removes them
    (and, with serialized_rollback, the permissions too), so put them back if needed."""
    groups = Group.objects.filter(name__in=["Account managers", "Executives", "Administrators"])
    if groups.count() == 3 and groups.filter(name="Executives", permissions__codename="view_dashboard").exists():
        return
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0)
    roles = importlib.import_module("winback.migrations.0001_roles")
    roles.create_groups(apps)
    importlib.import_module("winback.migrations.0004_dashboard_access").add_dashboard_permission(apps)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password(DEMO_TEST_PASSWORD)

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            ensure_roles()
            self.groups.add(Group.objects.get(name=extracted))
            if extracted == "Administrators":
                self.is_staff = True
                self.save(update_fields=["is_staff"])
