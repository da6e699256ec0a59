"""The customer card's "Win-back cases" panel: open cases first, then the latest closed, each
linked only for those who may see it, overdue in red, the button to open a case, in a fixed
number of queries."""

import datetime as dt

import pytest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from cases.card import cases_panel
from cases.tests.factories import CaseFactory
from customers.tests.factories import CustomerFactory


def _card(client, customer) -> str:
    answer = client.get(reverse("customers:detail", args=[customer.pk]))
    assert answer.status_code == 200
    return answer.content.decode()


def _detail(case) -> str:
    return reverse("cases:detail", args=[case.pk])


def _open_url(customer) -> str:
    try:
        return reverse("cases:open_for_customer", args=[customer.pk])
    except NoReverseMatch:
        return ""


def test_the_panel_lists_open_cases_first_then_closed_ones(manager_client, manager):
    closed = CaseFactory(owner=manager, stage="lost", is_open=False, deadline_at=None, closed_at=timezone.now())
    current = CaseFactory(owner=manager, customer=closed.customer, event=closed.event)
    html = _card(manager_client, closed.customer)
    assert html.index(_detail(current)) < html.index(_detail(closed))
    assert "No win-back cases yet." not in html
    assert "Lost" in html
    assert "New" in html


def test_an_overdue_case_is_red_with_a_word(manager_client, manager):
    case = CaseFactory(owner=manager)
    case.deadline_at = timezone.now() - dt.timedelta(hours=2)
    case.save(update_fields=["deadline_at"])
    html = _card(manager_client, case.customer)
    assert '<div class="small text-danger"><span class="badge text-bg-danger">Overdue</span>' in html


def test_a_case_the_manager_may_not_see_is_listed_without_a_link(client, manager, other_manager):
    case = CaseFactory(owner=other_manager)
    followed = CaseFactory(owner=other_manager, stage="won_back", is_open=False, followers=[manager])
    client.force_login(manager)
    assert _detail(case) not in _card(client, case.customer)
    assert _detail(followed) in _card(client, followed.customer)
    client.force_login(other_manager)
    assert _detail(case) in _card(client, case.customer)


@pytest.mark.parametrize("role_user", ["executive", "administrator"], indirect=True)
def test_executives_and_administrators_get_every_link(client, role_user):
    case = CaseFactory()
    client.force_login(role_user)
    assert _detail(case) in _card(client, case.customer)


def test_the_empty_panel_says_so_and_offers_to_open_a_case(manager_client, manager):
    customer = CustomerFactory()
    html = _card(manager_client, customer)
    assert "No win-back cases yet." in html
    panel = cases_panel(customer, manager)
    assert panel["can_open"] is True
    if _open_url(customer):
        assert "Open a win-back case" in html
        assert _open_url(customer) in html


def test_no_open_button_while_a_case_is_open_nor_for_executives(client, manager, executive):
    case = CaseFactory(owner=manager)
    assert cases_panel(case.customer, manager)["can_open"] is False
    assert cases_panel(CustomerFactory(), executive)["can_open"] is False
    client.force_login(executive)
    assert "Open a win-back case" not in _card(client, CustomerFactory())


def test_the_panel_runs_at_most_two_queries(manager, django_assert_max_num_queries):
    customer = CustomerFactory()
    first = CaseFactory(owner=manager, customer=customer, stage="lost", is_open=False, deadline_at=None)
    for _ in range(5):
        CaseFactory(customer=customer, event=first.event, stage="let_go", is_open=False, deadline_at=None)
    CaseFactory(customer=customer, event=first.event)
    manager.refresh_from_db()  # no role cached yet
    with django_assert_max_num_queries(2):
        panel = cases_panel(customer, manager)
    assert len(panel["cases"]) == 7
    assert panel["cases"][0].is_open
