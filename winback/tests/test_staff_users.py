import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core import mail
from django.urls import reverse

from winback.roles import Role, role_of
from winback.tests.factories import UserFactory

User = get_user_model()

PAGES = ["staff:user_list", "staff:user_create"]


@pytest.mark.parametrize("url_name", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, db, url_name):
    response = client.get(reverse(url_name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("url_name", PAGES)
@pytest.mark.parametrize("role_user", ["manager", "executive"], indirect=True)
def test_only_administrators_manage_users(client, role_user, url_name):
    client.force_login(role_user)
    assert client.get(reverse(url_name)).status_code == 403


def test_an_administrator_sees_users_with_their_roles(admin_client, manager, executive, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        response = admin_client.get(reverse("staff:user_list"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "manager" in content
    assert "Account manager" in content
    assert "Executive" in content


def test_the_user_list_filters_by_role(admin_client, manager, executive):
    response = admin_client.get(reverse("staff:user_list"), {"role": Role.EXECUTIVE.value})
    rows = [user.username for user, _ in response.context["rows"]]
    assert rows == ["exec"]


def test_an_administrator_creates_a_manager_who_gets_a_link_to_set_a_password(admin_client):
    response = admin_client.post(
        reverse("staff:user_create"),
        {
            "username": "newbie",
            "email": "newbie@example.com",
            "first_name": "New",
            "last_name": "Bie",
            "role": Role.ACCOUNT_MANAGER.value,
            "password": "",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="newbie")
    assert role_of(user) == Role.ACCOUNT_MANAGER
    assert not user.has_usable_password()
    assert not user.is_staff
    assert len(mail.outbox) == 1
    assert "/accounts/reset/" in mail.outbox[0].body
    assert mail.outbox[0].to == ["newbie@example.com"]


def test_creating_a_user_with_a_weak_password_or_taken_name_is_refused(admin_client, manager):
    response = admin_client.post(
        reverse("staff:user_create"),
        {"username": "MANAGER", "email": "x@example.com", "role": Role.EXECUTIVE.value, "password": "123"},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "username" in errors
    assert "password" in errors
    assert User.objects.count() == 2


def test_an_administrator_can_make_someone_an_administrator(admin_client, manager):
    admin_client.post(
        reverse("staff:user_edit", args=[manager.pk]),
        {
            "email": manager.email,
            "first_name": "",
            "last_name": "",
            "role": Role.ADMINISTRATOR.value,
            "is_active": "on",
        },
    )
    manager.refresh_from_db()
    assert role_of(manager) == Role.ADMINISTRATOR
    assert manager.is_staff


def test_deactivating_a_user_signs_them_out_everywhere(client, admin_client, db):
    victim = UserFactory(username="leaver", role="Account managers")
    victim_client = type(client)()
    victim_client.force_login(victim)
    assert victim_client.get(reverse("staff:user_list")).status_code == 403  # signed in
    sessions_before = Session.objects.count()

    admin_client.post(
        reverse("staff:user_edit", args=[victim.pk]),
        {"email": victim.email, "role": Role.ACCOUNT_MANAGER.value},  # is_active unticked
    )
    victim.refresh_from_db()
    assert not victim.is_active
    assert Session.objects.count() == sessions_before - 1
    response = victim_client.get(reverse("customers:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_administrators_cannot_lock_themselves_out(admin_client, administrator):
    response = admin_client.post(
        reverse("staff:user_edit", args=[administrator.pk]),
        {"email": administrator.email, "role": Role.EXECUTIVE.value},
    )
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"is_active", "role"}
    administrator.refresh_from_db()
    assert administrator.is_active
