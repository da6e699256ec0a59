"""AUTHZ-05: changes of ownership and role take effect at once. A manager with a live, signed-in
session has a case page open; after (a) the case is reassigned away, (b) they leave the Account
managers group or (c) they are deactivated, their very next request is refused: 404 for the case
(a, b), and for (c) every session of theirs is deleted and they are sent to sign in."""

import pytest
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from cases.models import CaseEvent
from cases.services.assignment import case_reassign
from cases.tests.factories import CaseFactory
from winback.roles import Role
from winback.services import user_update
from winback.tests.factories import DEMO_TEST_PASSWORD

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    """A real sign-in through the login form (a session row like a browser's)."""
    client = Client()
    response = client.post(reverse("login"), {"username": user.username, "password": DEMO_TEST_PASSWORD})
    assert response.status_code == 302
    return client


@pytest.fixture
def owned_case(manager):
    return CaseFactory(owner=manager)


def open_case_page(client, case) -> int:
    return client.get(reverse("cases:detail", args=[case.pk])).status_code


def test_a_case_reassigned_away_is_a_404_on_the_next_request(manager, other_manager, administrator, owned_case):
    client = signed_in(manager)
    assert open_case_page(client, owned_case) == 200
    case_reassign(case=owned_case, owner=other_manager, actor=administrator)
    assert CaseEvent.objects.filter(case=owned_case, kind=CaseEvent.Kind.OWNER).exists()
    status = open_case_page(client, owned_case)
    print(f"\nAUTHZ-05 (a) reassigned away: accepted after change={int(status == 200)}")
    assert status == 404


def test_a_manager_removed_from_the_account_managers_group_gets_a_404_on_the_next_request(manager, owned_case):
    client = signed_in(manager)
    assert open_case_page(client, owned_case) == 200
    manager.groups.remove(Group.objects.get(name=Role.ACCOUNT_MANAGER.value))
    status = open_case_page(client, owned_case)
    print(f"\nAUTHZ-05 (b) group removed: accepted after change={int(status == 200)}")
    assert status == 404
    # The queue refuses them too: no role, no cases.
    assert client.get(reverse("cases:queue")).status_code in (403, 404)


def test_a_deactivated_manager_loses_every_session_and_is_sent_to_sign_in(manager, administrator, owned_case):
    laptop, phone = signed_in(manager), signed_in(manager)
    bystander = signed_in(administrator)
    assert open_case_page(laptop, owned_case) == 200
    assert open_case_page(phone, owned_case) == 200
    sessions_before = Session.objects.count()
    user_update(
        user=manager,
        email=manager.email,
        first_name=manager.first_name,
        last_name=manager.last_name,
        role=Role.ACCOUNT_MANAGER,
        is_active=False,
    )
    assert Session.objects.count() == sessions_before - 2  # both of theirs, not the administrator's
    responses = [client.get(reverse("cases:detail", args=[owned_case.pk])) for client in (laptop, phone)]
    print(f"\nAUTHZ-05 (c) deactivated: accepted after change={sum(r.status_code == 200 for r in responses)}")
    for response in responses:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    assert open_case_page(bystander, owned_case) == 200
