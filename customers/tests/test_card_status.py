"""The status panel on the customer card and dismissing a false alarm from it."""

import datetime as dt
import html as html_lib
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from customers.models import Customer, DefectionEvent, Dismissal, StatusChange
from customers.tests.detection_helpers import NOON_TODAY, TODAY, buy, customer_buying, days_ago, detect, segment
from customers.tests.factories import CustomerFactory
from winback.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen_today():
    with time_machine.travel(NOON_TODAY, tick=False):
        yield


def _card(client, customer) -> str:
    response = client.get(reverse("customers:detail", args=[customer.pk]))
    assert response.status_code == 200
    return html_lib.unescape(response.content.decode())


def _dismiss_url(customer) -> str:
    return reverse("customers:dismiss", args=[customer.pk])


def test_the_card_explains_the_current_status_in_words_and_numbers(manager_client, manager):
    # Buys every 21 days, last 100 days ago: defected by the segment's 90 days (21 × 3 = 63 < 90).
    customer = customer_buying(segment(rhythm=True), 100, 121, 142, 163, account_manager=manager)
    detect()
    html = _card(manager_client, customer)
    assert "No purchase for 100 days; this customer usually buys every 21 days (segment rule: 90 days)." in html
    assert 'id="status-heading"' in html


def test_the_figures_compare_the_last_365_days_with_the_year_before(manager_client):
    customer = customer_buying(segment(), 10, 40, 400, amount="250.00")
    detect()
    customer.refresh_from_db()
    html = _card(manager_client, customer)
    assert customer.orders_365d == 2
    assert customer.orders_prev_365d == 1
    assert "1 the year before" in html
    assert "500 EUR" in html
    assert "250 EUR the year before" in html
    assert f"{customer.annual_value:,.0f} EUR" in html
    assert f"Detection figures as of {TODAY:%Y-%m-%d}." in html
    assert f"{customer.r_score}·{customer.f_score}·{customer.m_score}" in html


def test_the_history_lists_every_change_with_its_explanation_and_the_events(manager_client):
    seg = segment(at_risk=60, defected=90)
    customer = customer_buying(seg, 200)
    with time_machine.travel(NOON_TODAY - dt.timedelta(days=150), tick=False):
        detect(as_of=days_ago(150))  # 50 days without a purchase: still active
    detect(as_of=days_ago(130))  # 70 days: at risk
    detect(as_of=days_ago(100))  # 100 days: defected
    buy(customer, days_ago(5))
    detect()  # won back
    html = _card(manager_client, customer)
    changes = list(StatusChange.objects.filter(customer=customer).order_by("changed_at", "id"))
    assert [change.to_status for change in changes] == ["at_risk", "defected", "won_back"]
    assert "No purchase for 70 days (at risk after 60 days); a one-time buyer" in html
    assert "No purchase for 100 days; a one-time buyer, so the segment's days apply (segment rule: 90 days)." in html
    assert f"Bought again on {days_ago(5):%B} {days_ago(5).day}, {days_ago(5).year} after defecting" in html
    assert "Passive (stopped buying)" in html
    assert "Recovered" in html


def test_a_relapse_is_marked_among_the_defection_events(manager_client):
    customer = CustomerFactory()
    DefectionEvent.objects.create(
        customer=customer,
        kind=DefectionEvent.Kind.ACTIVE,
        relapse=True,
        detected_at=NOON_TODAY,
        as_of=TODAY,
        lost_revenue=Decimal("1234.00"),
        status_changed_at=NOON_TODAY,
    )
    html = _card(manager_client, customer)
    assert "Active (cancelled)" in html
    assert "Relapse" in html
    assert "1,234 EUR a year at stake" in html
    assert f"As of {TODAY:%Y-%m-%d}" in html


def test_a_customer_without_history_says_so(manager_client):
    html = _card(manager_client, CustomerFactory())
    assert "Detection has not changed this customer's status yet." in html
    assert "No status changes yet." in html
    assert "No defections recorded." in html


def test_a_dismissal_still_running_is_shown_and_an_expired_one_is_not(manager_client):
    running = CustomerFactory(dismissed_until=TODAY + dt.timedelta(days=30))
    expired = CustomerFactory(dismissed_until=TODAY)
    assert f"not flagged before {TODAY + dt.timedelta(days=30):%Y-%m-%d}" in _card(manager_client, running)
    assert "not flagged before" not in _card(manager_client, expired)


@pytest.mark.parametrize(
    ("who", "visible"),
    [("manager", True), ("other_manager", False), ("executive", False), ("administrator", True)],
)
def test_the_dismiss_button_is_shown_to_those_who_may_dismiss(client, request, manager, who, visible):
    customer = CustomerFactory(account_manager=manager, status=Customer.Status.AT_RISK)
    client.force_login(request.getfixturevalue(who))
    assert (f'href="{_dismiss_url(customer)}"' in _card(client, customer)) is visible


def test_the_card_with_a_long_history_runs_a_bounded_number_of_queries(
    manager_client, manager, django_assert_max_num_queries
):
    customer = CustomerFactory(account_manager=manager, status=Customer.Status.AT_RISK)
    for index in range(30):
        StatusChange.objects.create(
            customer=customer,
            from_status="active",
            to_status="at_risk",
            rule=StatusChange.Rule.DISMISSED if index % 2 else StatusChange.Rule.INACTIVE_AT_RISK,
            facts={"days": 70, "at_risk_days": 60, "kind_label": "Seasonal buyer", "until": "2026-09-01"},
            as_of=TODAY,
            changed_at=NOON_TODAY - dt.timedelta(days=index),
            actor=UserFactory(),
        )
        DefectionEvent.objects.create(
            customer=customer,
            kind="passive",
            detected_at=NOON_TODAY,
            as_of=TODAY,
            status="closed",
            status_changed_at=NOON_TODAY,
        )
    with django_assert_max_num_queries(15):  # 12, plus 1 per surveys and cases card panel
        html = _card(manager_client, customer)
    # The latest 20 changes, half of them dismissals, and the latest again as the current status.
    assert html.count("No purchase for 70 days") == 10 + 1
    assert html.count("Alarm dismissed (Seasonal buyer)") == 10


# Dismissing an alarm


def test_anonymous_visitors_are_sent_to_sign_in_from_the_dismiss_page(client):
    response = client.get(_dismiss_url(CustomerFactory()))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("who", "status"), [("manager", 200), ("other_manager", 403), ("executive", 403), ("administrator", 200)]
)
def test_the_dismiss_page_is_for_the_customers_manager_and_administrators(client, request, manager, who, status):
    customer = CustomerFactory(account_manager=manager, status=Customer.Status.AT_RISK)
    client.force_login(request.getfixturevalue(who))
    assert client.get(_dismiss_url(customer)).status_code == status
    response = client.post(_dismiss_url(customer), {"kind": "seasonal", "until": "2026-09-01"})
    assert response.status_code == (302 if status == 200 else 403)
    assert Dismissal.objects.filter(customer=customer).exists() is (status == 200)


def test_the_dismiss_form_suggests_ninety_days_ahead(manager_client, manager, django_assert_max_num_queries):
    customer = CustomerFactory(account_manager=manager, status=Customer.Status.AT_RISK)
    with django_assert_max_num_queries(6):
        response = manager_client.get(_dismiss_url(customer))
    assert f'value="{TODAY + dt.timedelta(days=90):%Y-%m-%d}"' in response.content.decode()


def test_dismissing_stops_the_alarm_and_the_card_says_until_when(manager_client, manager):
    customer = customer_buying(segment(), 70, account_manager=manager)
    detect()
    assert Customer.objects.get(pk=customer.pk).status == "at_risk"
    response = manager_client.post(
        _dismiss_url(customer), {"kind": "seasonal", "note": "Buys before Christmas", "until": "2026-11-01"}
    )
    assert response.status_code == 302
    assert response["Location"] == customer.get_absolute_url()
    dismissal = Dismissal.objects.get(customer=customer)
    assert (dismissal.kind, dismissal.note, dismissal.until, dismissal.created_by) == (
        "seasonal",
        "Buys before Christmas",
        dt.date(2026, 11, 1),
        manager,
    )
    html = _card(manager_client, customer)
    assert "is not flagged again before 2026-11-01" in html  # the message
    assert "Alarm dismissed: not flagged before 2026-11-01." in html
    assert "Alarm dismissed (Seasonal buyer); not flagged again before" in html
    detect()
    assert Customer.objects.get(pk=customer.pk).status == "active"


@pytest.mark.parametrize(
    ("data", "field_message"),
    [
        ({"kind": "seasonal", "until": "2026-06-15"}, "Choose a day after today."),
        ({"kind": "other", "until": "2026-09-01"}, "Say why, so the next person understands."),
        ({"kind": "sunny", "until": "2026-09-01"}, "Select a valid choice."),
        ({"kind": "seasonal", "until": "not a day"}, "Enter a valid date."),
    ],
)
def test_invalid_input_is_shown_on_the_form_and_nothing_is_dismissed(manager_client, manager, data, field_message):
    customer = CustomerFactory(account_manager=manager, status=Customer.Status.AT_RISK)
    response = manager_client.post(_dismiss_url(customer), data)
    assert response.status_code == 200
    assert field_message in html_lib.unescape(response.content.decode())
    assert not Dismissal.objects.exists()
    assert Customer.objects.get(pk=customer.pk).status == "at_risk"
