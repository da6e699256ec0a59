import pytest
from django.core import mail
from django.urls import reverse

from winback.tests.factories import DEMO_TEST_PASSWORD


def test_the_sign_in_page_is_at_accounts_login(client, db):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert "Sign in to Winback" in response.content.decode()


def test_a_manager_signs_in_and_lands_on_the_customer_list(client, manager):
    response = client.post("/accounts/login/", {"username": "manager", "password": DEMO_TEST_PASSWORD})
    assert response.status_code == 302
    assert client.get(response["Location"]).url == reverse("customers:list")


def test_a_wrong_password_is_refused_with_a_message(client, manager):
    response = client.post("/accounts/login/", {"username": "manager", "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_sign_out_is_a_post_and_ends_the_session(manager_client):
    response = manager_client.post(reverse("logout"))
    assert response.status_code == 302
    assert manager_client.get(reverse("customers:list")).status_code == 302


def test_password_reset_sends_a_link_by_email(client, manager):
    response = client.post(reverse("password_reset"), {"email": manager.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "/accounts/reset/" in mail.outbox[0].body


def test_password_change_requires_the_old_password(manager_client):
    response = manager_client.post(
        reverse("password_change"),
        {
            "old_password": "nope",
            "new_password1": "a much longer passphrase 42",
            "new_password2": "a much longer passphrase 42",
        },
    )
    assert response.status_code == 200
    assert "old_password" in response.context["form"].errors


@pytest.mark.parametrize("role_user", ["manager", "executive", "administrator"], indirect=True)
def test_the_navigation_shows_what_the_role_may_use(client, role_user):
    client.force_login(role_user)
    content = client.get(reverse("customers:open_requests")).content.decode()
    assert (reverse("staff:user_list") in content) == (role_user.username == "admin")
    assert (reverse("customers:import_list") in content) == (role_user.username == "admin")
    assert reverse("customers:list") in content


def test_unknown_pages_get_the_friendly_404(client, manager):
    client.force_login(manager)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "We could not find that page" in response.content.decode()


def test_the_health_check_needs_no_login(client, db):
    assert client.get("/healthz").content == b"ok"
