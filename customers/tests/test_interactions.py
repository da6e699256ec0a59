import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.models import Interaction
from customers.tests.factories import CustomerFactory, InteractionFactory
from winback.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BUSINESS_TZ = zoneinfo.ZoneInfo(settings.TIME_ZONE)
NOW = dt.datetime(2024, 3, 12, 15, 0, tzinfo=BUSINESS_TZ)


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def _logged(**overrides) -> dict:
    data = {
        "occurred_at": "2024-03-10T09:30",
        "channel": Interaction.Channel.PHONE,
        "kind": Interaction.Kind.COMPLAINT,
        "summary": "The parcel arrived broken.",
        "due_at": "",
    }
    data.update(overrides)
    return data


def _open(owner, due_in: dt.timedelta | None, occurred_ago: dt.timedelta = dt.timedelta(days=5), **kwargs):
    return InteractionFactory(
        owner=owner,
        status=Interaction.Status.OPEN,
        due_at=NOW + due_in if due_in is not None else None,
        occurred_at=NOW - occurred_ago,
        **kwargs,
    )


# Logging an interaction


def test_anonymous_visitors_are_sent_to_sign_in_from_logging(client):
    customer = CustomerFactory()
    response = client.post(reverse("customers:interaction_create", args=[customer.pk]), _logged())
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not Interaction.objects.exists()


@pytest.mark.parametrize("role_user", ["manager", "administrator"], indirect=True)
def test_managers_and_administrators_log_interactions_on_any_card(
    client, role_user, other_manager, django_assert_max_num_queries
):
    client.force_login(role_user)
    customer = CustomerFactory(account_manager=other_manager)
    url = reverse("customers:interaction_create", args=[customer.pk])
    with django_assert_max_num_queries(10):
        response = client.get(url)
    assert response.status_code == 200
    assert 'type="datetime-local"' in response.content.decode()
    with django_assert_max_num_queries(12):
        response = client.post(url, _logged(owner=other_manager.pk, due_at="2024-03-14T12:00"))
    assert response.status_code == 302
    assert response["Location"] == customer.get_absolute_url()
    interaction = Interaction.objects.get()
    assert interaction.customer == customer
    assert interaction.created_by == role_user
    assert interaction.owner == other_manager
    assert interaction.status == Interaction.Status.OPEN


def test_executives_cannot_log_interactions(executive_client, executive):
    customer = CustomerFactory()
    url = reverse("customers:interaction_create", args=[customer.pk])
    assert executive_client.get(url).status_code == 403
    assert executive_client.post(url, _logged(owner=executive.pk)).status_code == 403
    assert not Interaction.objects.exists()


def test_the_form_defaults_to_now_and_the_customers_account_manager(manager_client, other_manager):
    customer = CustomerFactory(account_manager=other_manager)
    response = manager_client.get(reverse("customers:interaction_create", args=[customer.pk]))
    form = response.context["form"]
    assert form["owner"].value() == other_manager.pk
    assert form["occurred_at"].value() == NOW.replace(tzinfo=None)
    assert 'value="2024-03-12T15:00"' in response.content.decode()


def test_without_an_account_manager_the_person_logging_is_responsible(manager_client, manager):
    customer = CustomerFactory(account_manager=None)
    form = manager_client.get(reverse("customers:interaction_create", args=[customer.pk])).context["form"]
    assert form["owner"].value() == manager.pk


def test_times_are_read_in_the_business_time_zone_whatever_zone_is_active(manager_client, manager):
    customer = CustomerFactory()
    with timezone.override("America/Los_Angeles"):
        manager_client.post(
            reverse("customers:interaction_create", args=[customer.pk]), _logged(owner=manager.pk, due_at="")
        )
    interaction = Interaction.objects.get()
    assert interaction.occurred_at == dt.datetime(2024, 3, 10, 9, 30, tzinfo=BUSINESS_TZ)
    assert interaction.status == Interaction.Status.RESOLVED
    assert interaction.resolved_at == interaction.occurred_at


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("occurred_at", "2024-03-13T15:30"),  # more than a day ahead
        ("summary", ""),
        ("summary", "x" * 5001),
        ("kind", "gossip"),
        ("due_at", "2024-03-09T10:00"),  # before the customer got in touch
        ("occurred_at", "yesterday"),
    ],
)
def test_bad_interactions_are_refused_with_a_message_and_not_saved(manager_client, manager, field, value):
    customer = CustomerFactory()
    response = manager_client.post(
        reverse("customers:interaction_create", args=[customer.pk]), _logged(owner=manager.pk, **{field: value})
    )
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert "invalid-feedback" in response.content.decode()
    assert not Interaction.objects.exists()


def test_an_interaction_a_few_hours_ahead_is_accepted(manager_client, manager):
    customer = CustomerFactory()
    response = manager_client.post(
        reverse("customers:interaction_create", args=[customer.pk]),
        _logged(owner=manager.pk, occurred_at="2024-03-13T09:00"),
    )
    assert response.status_code == 302
    assert Interaction.objects.count() == 1


def test_only_active_staff_can_be_made_responsible(manager_client):
    gone = UserFactory(role="Account managers", is_active=False)
    nobody = UserFactory()
    customer = CustomerFactory()
    url = reverse("customers:interaction_create", args=[customer.pk])
    for user in (gone, nobody):
        response = manager_client.post(url, _logged(owner=user.pk))
        assert "owner" in response.context["form"].errors
    assert not Interaction.objects.exists()


# Resolving


def test_resolving_needs_sign_in_and_a_post(client, manager):
    interaction = _open(manager, dt.timedelta(days=1))
    url = reverse("customers:interaction_resolve", args=[interaction.pk])
    response = client.post(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    client.force_login(manager)
    assert client.get(url).status_code == 405
    interaction.refresh_from_db()
    assert interaction.status == Interaction.Status.OPEN


@pytest.mark.parametrize("who", ["owner", "account_manager", "administrator"])
def test_the_owner_the_account_manager_or_an_administrator_resolves(client, manager, other_manager, administrator, who):
    interaction = _open(manager, dt.timedelta(days=1), customer=CustomerFactory(account_manager=other_manager))
    client.force_login({"owner": manager, "account_manager": other_manager, "administrator": administrator}[who])
    response = client.post(reverse("customers:interaction_resolve", args=[interaction.pk]))
    assert response.status_code == 302
    assert response["Location"] == interaction.customer.get_absolute_url()
    interaction.refresh_from_db()
    assert interaction.status == Interaction.Status.RESOLVED
    assert interaction.resolved_at == NOW


@pytest.mark.parametrize("role_user", ["manager", "executive"], indirect=True)
def test_nobody_else_resolves(client, role_user, other_manager):
    interaction = _open(other_manager, dt.timedelta(days=1), customer=CustomerFactory(account_manager=other_manager))
    client.force_login(role_user)
    assert client.post(reverse("customers:interaction_resolve", args=[interaction.pk])).status_code == 403
    interaction.refresh_from_db()
    assert interaction.status == Interaction.Status.OPEN


def test_resolving_twice_keeps_the_first_answer_time(manager_client, manager, django_assert_max_num_queries):
    interaction = _open(manager, dt.timedelta(days=1))
    url = reverse("customers:interaction_resolve", args=[interaction.pk])
    with django_assert_max_num_queries(12):
        manager_client.post(url)
    with time_machine.travel(NOW + dt.timedelta(hours=5), tick=False):
        response = manager_client.post(url)
    assert response.status_code == 302
    interaction.refresh_from_db()
    assert interaction.resolved_at == NOW


def test_resolving_returns_to_a_local_next_page(manager_client, manager):
    interaction = _open(manager, dt.timedelta(days=1))
    next_url = reverse("customers:open_requests") + "?page=2"
    response = manager_client.post(reverse("customers:interaction_resolve", args=[interaction.pk]), {"next": next_url})
    assert response["Location"] == next_url


@pytest.mark.parametrize(
    "target", ["//evil.test", "https://evil.test/requests/", "/\\evil.test", "javascript:alert(1)"]
)
def test_resolving_never_redirects_off_site(manager_client, manager, target):
    interaction = _open(manager, dt.timedelta(days=1))
    response = manager_client.post(reverse("customers:interaction_resolve", args=[interaction.pk]), {"next": target})
    assert response.status_code == 302
    assert response["Location"] == interaction.customer.get_absolute_url()


# Open requests


def test_anonymous_visitors_are_sent_to_sign_in_from_open_requests(client, db):
    response = client.get(reverse("customers:open_requests"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role_user", ["manager", "executive", "administrator"], indirect=True)
def test_everyone_sees_their_own_open_requests(client, role_user, other_manager):
    mine = _open(role_user, dt.timedelta(days=1), summary="Mine to answer")
    _open(other_manager, dt.timedelta(days=1), summary="Someone else's")
    InteractionFactory(owner=role_user, status=Interaction.Status.RESOLVED, summary="Already answered")
    client.force_login(role_user)
    response = client.get(reverse("customers:open_requests"))
    assert response.status_code == 200
    assert [row[0] for row in response.context["rows"]] == [mine]
    content = response.content.decode()
    assert "Mine to answer" in content
    assert "Someone else&#x27;s" not in content
    assert "Already answered" not in content
    assert reverse("customers:list") in content  # the full layout with navigation


def test_overdue_requests_come_first_then_by_due_date_then_oldest(manager_client, manager):
    later = _open(manager, dt.timedelta(days=5))
    overdue_long = _open(manager, -dt.timedelta(days=3))
    no_due_old = _open(manager, None, occurred_ago=dt.timedelta(days=30))
    soon = _open(manager, dt.timedelta(hours=2))
    no_due_new = _open(manager, None, occurred_ago=dt.timedelta(days=1))
    overdue_recent = _open(manager, -dt.timedelta(hours=1))
    same_due_newer = _open(manager, dt.timedelta(days=5), occurred_ago=dt.timedelta(days=1))
    rows = manager_client.get(reverse("customers:open_requests")).context["rows"]
    assert [row[0] for row in rows] == [
        overdue_long,
        overdue_recent,
        soon,
        later,
        same_due_newer,
        no_due_old,
        no_due_new,
    ]
    assert [overdue for _, overdue, _ in rows] == [True, True, False, False, False, False, False]


def test_overdue_requests_say_so_in_words_and_summaries_are_escaped(manager_client, manager):
    _open(manager, -dt.timedelta(days=1), summary="<script>alert(1)</script>" + "long words " * 30)
    content = manager_client.get(reverse("customers:open_requests")).content.decode()
    assert "overdue" in content
    assert "text-danger" in content
    assert "<script>alert(1)" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "long words " * 30 not in content  # truncated


def test_each_row_has_a_resolve_button_that_comes_back_here(manager_client, manager):
    interaction = _open(manager, dt.timedelta(days=1))
    content = manager_client.get(reverse("customers:open_requests")).content.decode()
    assert f'action="{reverse("customers:interaction_resolve", args=[interaction.pk])}"' in content
    assert f'name="next" value="{reverse("customers:open_requests")}"' in content
    assert "csrfmiddlewaretoken" in content


def test_nothing_awaiting_an_answer_shows_a_friendly_empty_state(manager_client):
    content = manager_client.get(reverse("customers:open_requests")).content.decode()
    assert "Nothing awaiting an answer. Well done." in content


def test_managers_only_ever_see_their_own_requests(manager_client, other_manager):
    _open(other_manager, dt.timedelta(days=1), summary="Not for your eyes")
    response = manager_client.get(reverse("customers:open_requests"), {"owner": other_manager.pk})
    assert response.context["rows"] == []
    assert 'name="owner"' not in response.content.decode()


@pytest.mark.parametrize("role_user", ["executive", "administrator"], indirect=True)
def test_executives_and_administrators_pick_whose_requests_to_read(client, role_user, other_manager):
    theirs = _open(other_manager, dt.timedelta(days=1))
    client.force_login(role_user)
    response = client.get(reverse("customers:open_requests"), {"owner": other_manager.pk})
    assert [row[0] for row in response.context["rows"]] == [theirs]
    content = response.content.decode()
    assert "data-autosubmit" in content
    assert f'<option value="{other_manager.pk}" selected>' in content
    # Reading is not answering: only the administrator gets the button.
    assert (reverse("customers:interaction_resolve", args=[theirs.pk]) in content) == (role_user.username == "admin")


def test_an_unknown_owner_falls_back_to_oneself(admin_client, administrator):
    mine = _open(administrator, dt.timedelta(days=1))
    response = admin_client.get(reverse("customers:open_requests"), {"owner": "nonsense"})
    assert [row[0] for row in response.context["rows"]] == [mine]


def test_open_requests_are_paginated_by_fifty(manager_client, manager):
    for _ in range(51):
        _open(manager, dt.timedelta(days=1))
    response = manager_client.get(reverse("customers:open_requests"))
    assert len(response.context["rows"]) == 50
    assert response.context["page"].paginator.num_pages == 2
    assert len(manager_client.get(reverse("customers:open_requests"), {"page": 2}).context["rows"]) == 1


@pytest.mark.parametrize("role_user", ["manager", "administrator"], indirect=True)
def test_open_requests_take_a_constant_number_of_queries(client, role_user, django_assert_max_num_queries):
    client.force_login(role_user)
    url = reverse("customers:open_requests")
    _open(role_user, dt.timedelta(days=1), customer=CustomerFactory())
    with CaptureQueriesContext(connection) as one_row:
        client.get(url)
    for _ in range(29):
        _open(role_user, dt.timedelta(days=1), customer=CustomerFactory())
    with django_assert_max_num_queries(10):
        response = client.get(url)
    assert len(response.context["rows"]) == 30
    with CaptureQueriesContext(connection) as thirty_rows:
        client.get(url)
    assert len(thirty_rows) == len(one_row)
