"""'My at-risk customers': a manager's own, the most revenue at stake first; everyone's for
executives and administrators, with a filter by manager."""

import datetime as dt
import html as html_lib
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from customers.models import Customer, StatusChange
from customers.tests.detection_helpers import NOON_TODAY, TODAY, customer_buying, detect, segment
from customers.tests.factories import CustomerFactory
from winback.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = reverse("customers:at_risk")


@pytest.fixture(autouse=True)
def _frozen_today():
    with time_machine.travel(NOON_TODAY, tick=False):
        yield


def _at_risk(name: str, value: str, manager=None, days: int = 70) -> Customer:
    return CustomerFactory(
        name=name,
        account_manager=manager,
        status=Customer.Status.AT_RISK,
        annual_value=Decimal(value),
        last_purchase_at=NOON_TODAY - dt.timedelta(days=days),
    )


def _text(response) -> str:
    assert response.status_code == 200
    return html_lib.unescape(response.content.decode())


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_user_without_a_role_is_refused(client):
    client.force_login(UserFactory(username="nobody"))
    assert client.get(URL).status_code == 403


def test_a_manager_sees_only_their_own_at_risk_customers_most_at_stake_first(
    manager_client, manager, other_manager, django_assert_max_num_queries
):
    _at_risk("Small Shop", "1200.00", manager, days=61)
    _at_risk("Big Buyer", "98000.00", manager, days=75)
    _at_risk("Someone Else's", "50000.00", other_manager)
    CustomerFactory(name="Happy Active", account_manager=manager, status=Customer.Status.ACTIVE)
    CustomerFactory(name="Gone Already", account_manager=manager, status=Customer.Status.DEFECTED)
    with django_assert_max_num_queries(8):
        text = _text(manager_client.get(URL + f"?manager={other_manager.pk}"))  # the filter is ignored
    assert "My at-risk customers" in text
    assert text.index("Big Buyer") < text.index("Small Shop")
    for absent in ("Someone Else's", "Happy Active", "Gone Already", 'name="manager"'):
        assert absent not in text
    assert "98,000 EUR" in text
    assert '<td class="text-end d-none d-sm-table-cell">75</td>' in text


@pytest.mark.parametrize("role_user", ["executive", "administrator"], indirect=True)
def test_executives_and_administrators_see_everyone_and_may_filter_by_manager(
    client, role_user, manager, other_manager, django_assert_max_num_queries
):
    _at_risk("Mine", "100.00", manager)
    _at_risk("Theirs", "200.00", other_manager)
    _at_risk("Nobody's", "300.00", None)
    client.force_login(role_user)
    with django_assert_max_num_queries(9):
        text = _text(client.get(URL))
    assert "At-risk customers" in text
    assert text.index("Nobody's") < text.index("Theirs") < text.index("Mine")
    assert other_manager.get_full_name() in text

    text = _text(client.get(URL + f"?manager={manager.pk}"))
    assert "Mine" in text
    assert "Theirs" not in text
    assert "Nobody's" not in text
    text = _text(client.get(URL + "?manager=none"))
    assert "Nobody's" in text
    assert "Mine" not in text
    text = _text(client.get(URL + "?manager=rubbish"))
    assert "Mine" in text
    assert "Theirs" in text


def test_each_row_says_why_the_customer_is_at_risk(manager_client, manager):
    customer = customer_buying(segment(at_risk=60, defected=90), 70, account_manager=manager)
    detect()
    assert StatusChange.objects.get(customer=customer).to_status == "at_risk"
    text = _text(manager_client.get(URL))
    assert "No purchase for 70 days (at risk after 60 days); a one-time buyer" in text
    assert f'href="{customer.get_absolute_url()}"' in text


def test_fifty_customers_a_page(manager_client, manager, django_assert_max_num_queries):
    for index in range(51):
        _at_risk(f"Customer {index:02d}", str(1000 + index), manager)
    text = _text(manager_client.get(URL))
    assert "Customer 50" in text
    assert "Customer 01" in text
    assert "Customer 00" not in text
    assert "1–50 of 51" in text
    with django_assert_max_num_queries(8):
        text = _text(manager_client.get(URL + "?page=2"))
    assert "Customer 00" in text
    assert "Customer 01" not in text


@pytest.mark.parametrize(
    ("role_user", "message"),
    [
        ("manager", "None of your customers is at risk right now."),
        ("executive", "No customers are at risk right now."),
        ("administrator", "No customers are at risk right now."),
    ],
    indirect=["role_user"],
)
def test_an_empty_list_says_so(client, role_user, message):
    client.force_login(role_user)
    assert message in _text(client.get(URL))


@pytest.mark.parametrize(
    ("role_user", "label"),
    [("manager", "My at-risk customers"), ("executive", "At risk"), ("administrator", "At risk")],
    indirect=["role_user"],
)
def test_the_navigation_links_to_the_list(client, role_user, label):
    client.force_login(role_user)
    assert f'href="{URL}">{label}</a>' in _text(client.get(reverse("customers:list")))


def test_days_since_the_last_purchase_count_business_days(manager_client, manager):
    _at_risk("Late Buyer", "10.00", manager, days=0)
    Customer.objects.filter(name="Late Buyer").update(
        last_purchase_at=dt.datetime.combine(TODAY - dt.timedelta(days=64), dt.time(23, 30), tzinfo=dt.UTC)
    )
    # 23:30 UTC is already the next day in Berlin: 63 days ago there.
    assert '<td class="text-end d-none d-sm-table-cell">63</td>' in _text(manager_client.get(URL))
