"""Helpers for the case page tests (no tests here): a case seen from each role of the permission
matrix (AUTHZ-01): anonymous, the owning manager, a following manager, another manager, an
executive, the executive who took the case in a rescue cycle, and an administrator."""

import pytest

from cases.tests.factories import CaseFactory
from winback.tests.factories import UserFactory

ROLES = ["anonymous", "owner", "follower", "other_manager", "executive", "rescuer", "administrator"]
# Who may work the case (log, email, offer, task, move, reason), see it but not work it (403),
# or not see it at all (404).
WORKERS = {"owner", "follower", "rescuer", "administrator"}
VIEWERS = WORKERS | {"executive"}


def case_and_user(role: str, **case_fields):
    """A case with an owning manager and a following manager, and the user playing `role` (None
    for anonymous)."""
    follower = UserFactory(role="Account managers")
    case = CaseFactory(followers=[follower], **case_fields)
    if role == "rescuer":
        executive = UserFactory(role="Executives")
        previous_owner = case.owner
        case.owner = case.rescued_by = executive
        case.save(update_fields=["owner", "rescued_by"])
        case.followers.add(previous_owner)
        return case, executive
    users = {
        "anonymous": lambda: None,
        "owner": lambda: case.owner,
        "follower": lambda: follower,
        "other_manager": lambda: UserFactory(role="Account managers"),
        "executive": lambda: UserFactory(role="Executives"),
        "administrator": lambda: UserFactory(role="Administrators"),
    }
    return case, users[role]()


def client_for(client, user):
    if user is not None:
        client.force_login(user)
    return client


def expected_status(role: str, *, ok: int, allowed: set[str] = WORKERS, visible: set[str] = VIEWERS) -> int:
    """The answer a role gets: `ok` when allowed, 403 when it may only look, 404 when it may not
    see the case, and the login redirect for anonymous visitors."""
    if role == "anonymous":
        return 302
    if role in allowed:
        return ok
    return 403 if role in visible else 404


def assert_login_redirect(response) -> None:
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


role_param = pytest.mark.parametrize("role", ROLES)
