"""Fixtures shared by every app's tests: one signed-in client per role."""

import pytest

from winback.tests.factories import UserFactory


@pytest.fixture
def manager(db):
    return UserFactory(username="manager", role="Account managers")


@pytest.fixture
def other_manager(db):
    return UserFactory(username="manager2", role="Account managers")


@pytest.fixture
def executive(db):
    return UserFactory(username="exec", role="Executives")


@pytest.fixture
def administrator(db):
    return UserFactory(username="admin", role="Administrators")


def _client_for(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def manager_client(client, manager):
    return _client_for(client, manager)


@pytest.fixture
def executive_client(client, executive):
    return _client_for(client, executive)


@pytest.fixture
def admin_client(client, administrator):
    return _client_for(client, administrator)


@pytest.fixture
def role_user(request, db):
    """Parametrize with indirect=True over "manager", "executive", "administrator"."""
    return request.getfixturevalue(request.param)
