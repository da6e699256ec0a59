"""The three staff roles. A user has one role: membership of one of these groups.

The groups and their permissions are created by a data migration
(winback/migrations/0001_roles.py); pages check permissions, not group names, except where a
rule is about the role itself (an administrator may do everything).
"""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ACCOUNT_MANAGER = "Account managers", _("Account manager")
    EXECUTIVE = "Executives", _("Executive")
    ADMINISTRATOR = "Administrators", _("Administrator")


def role_of(user: AbstractBaseUser | AnonymousUser) -> Role | None:
    """The user's role, cached on the user object for the request (one query at most)."""
    if not user.is_authenticated:
        return None
    if not hasattr(user, "_winback_role"):
        names = set(user.groups.values_list("name", flat=True))
        role = None
        for candidate in (Role.ADMINISTRATOR, Role.EXECUTIVE, Role.ACCOUNT_MANAGER):
            if candidate.value in names:
                role = candidate
                break
        if role is None and user.is_superuser:
            role = Role.ADMINISTRATOR
        user._winback_role = role
    return user._winback_role


def is_administrator(user) -> bool:
    return role_of(user) == Role.ADMINISTRATOR


def is_account_manager(user) -> bool:
    return role_of(user) == Role.ACCOUNT_MANAGER


def is_executive(user) -> bool:
    return role_of(user) == Role.EXECUTIVE
