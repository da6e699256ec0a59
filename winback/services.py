"""Writes for staff users and their roles."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.tokens import default_token_generator
from django.contrib.sessions.models import Session
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from winback.roles import Role

User = get_user_model()


def _set_role(user, role: Role) -> None:
    user.groups.set([Group.objects.get(name=role.value)])
    # Administrators may use the Django admin; nobody else needs it.
    user.is_staff = role == Role.ADMINISTRATOR
    user.save(update_fields=["is_staff"])
    if hasattr(user, "_winback_role"):
        del user._winback_role


def end_sessions_of(user) -> int:
    """Deletes every live session of the user, so a deactivation takes effect at once."""
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()
            ended += 1
    return ended


@transaction.atomic
def user_create(
    *, username: str, email: str, first_name: str, last_name: str, role: Role, password: str | None
) -> User:
    """Creates a staff user with one role. Without a password the user cannot sign in until
    they set one through the emailed link."""
    user = User(username=username, email=email, first_name=first_name, last_name=last_name)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    _set_role(user, role)
    return user


@transaction.atomic
def user_update(
    *, user, email: str, first_name: str, last_name: str, role: Role, is_active: bool, dashboard: bool = False
) -> User:
    """Changes a user's details, role, active flag and dashboard access (a permission of the user's
    own, for account managers; the other roles have it through their group); deactivation ends
    their sessions."""
    was_active = user.is_active
    user.email, user.first_name, user.last_name, user.is_active = email, first_name, last_name, is_active
    user.save(update_fields=["email", "first_name", "last_name", "is_active"])
    _set_role(user, role)
    permission = Permission.objects.get(content_type__app_label="winback", codename="view_dashboard")
    if dashboard and role == Role.ACCOUNT_MANAGER:
        user.user_permissions.add(permission)
    else:
        user.user_permissions.remove(permission)
    for cache in ("_perm_cache", "_user_perm_cache"):
        user.__dict__.pop(cache, None)
    if was_active and not is_active:
        end_sessions_of(user)
    return user


def send_set_password_link(user) -> None:
    """Emails a new user a one-hour link to choose their password (the password-reset view).

    Django's reset form skips users without a usable password, so the token is made here."""
    protocol, domain = settings.SITE_URL.rstrip("/").split("://", 1)
    context = {
        "user": user,
        "protocol": protocol,
        "domain": domain,
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user),
        "site_name": settings.WINBACK_COMPANY_NAME,
    }
    subject = render_to_string("registration/password_set_subject.txt", context).strip()
    body = render_to_string("registration/password_set_email.txt", context)
    send_mail(subject, body, None, [user.email])
