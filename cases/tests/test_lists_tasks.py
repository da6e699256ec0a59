"""The task list: the user's open tasks by due date, done ones on request, overdue ones in red;
administrators may look at anyone's."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.tests.factories import CaseFactory, TaskFactory
from winback.tests.factories import UserFactory

TASKS = reverse("cases:my_tasks")


def titles(response) -> list[str]:
    return [task.title for task in response.context["page"].object_list]


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    assert client.get(TASKS)["Location"].startswith("/accounts/login/")


def test_a_user_without_a_role_is_refused(client, db):
    client.force_login(UserFactory(username="nobody"))
    assert client.get(TASKS).status_code == 403


def test_the_list_holds_my_open_tasks_by_due_date_with_overdue_ones_red(manager_client, manager, other_manager):
    case = CaseFactory(owner=manager)
    today = timezone.localdate()
    TaskFactory(case=case, assignee=manager, title="Later", due_on=today + dt.timedelta(days=5))
    TaskFactory(case=case, assignee=manager, title="Late", due_on=today - dt.timedelta(days=1))
    TaskFactory(case=case, assignee=manager, title="Done", done_at=timezone.now())
    TaskFactory(case=CaseFactory(owner=other_manager), assignee=other_manager, title="Not mine")
    response = manager_client.get(TASKS)
    assert titles(response) == ["Late", "Later"]
    html = response.content.decode()
    assert html.count(">Overdue</span>") == 1
    assert "text-danger" in html
    assert reverse("cases:detail", args=[case.pk]) in html
    assert titles(manager_client.get(TASKS, {"state": "done"})) == ["Done"]


def test_a_manager_cannot_look_at_another_users_tasks(manager_client, manager, other_manager):
    TaskFactory(case=CaseFactory(owner=other_manager), assignee=other_manager, title="Theirs")
    response = manager_client.get(TASKS, {"assignee": other_manager.pk})
    assert response.context["assignee"] == manager
    assert titles(response) == []


def test_tasks_on_a_case_reassigned_away_are_not_listed(manager_client, manager, other_manager):
    case = CaseFactory(owner=other_manager)
    TaskFactory(case=case, assignee=manager, title="Left behind")
    assert titles(manager_client.get(TASKS)) == []


def test_an_administrator_looks_at_anyones_tasks(admin_client, manager):
    TaskFactory(case=CaseFactory(owner=manager), assignee=manager, title="Call back")
    response = admin_client.get(TASKS, {"assignee": manager.pk})
    assert titles(response) == ["Call back"]
    assert admin_client.get(TASKS, {"assignee": 999999}).status_code == 404
    assert admin_client.get(TASKS, {"assignee": "x"}).status_code == 404


@pytest.mark.parametrize("role_user", ["manager", "executive", "administrator"], indirect=True)
def test_the_task_list_has_a_fixed_number_of_queries(client, role_user, django_assert_max_num_queries):
    for n in range(32):
        TaskFactory(case=CaseFactory(owner=role_user), assignee=role_user, title=f"Task {n}")
    client.force_login(role_user)
    with django_assert_max_num_queries(10):
        response = client.get(TASKS)
    assert len(titles(response)) == 25
    assert response.context["page"].paginator.count == 32


def test_the_empty_list_says_what_to_do(manager_client):
    assert "No open tasks." in manager_client.get(TASKS).content.decode()
