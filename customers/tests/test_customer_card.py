import datetime as dt
import json
import re
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from customers.models import Customer, Interaction, Transaction
from customers.tests.factories import CustomerFactory, InteractionFactory, SegmentFactory, TransactionFactory
from winback.tests.factories import UserFactory

NOW = dt.datetime(2025, 6, 15, 10, 0, tzinfo=dt.UTC)


def _card(client, customer):
    response = client.get(reverse("customers:detail", args=[customer.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _chart(html: str) -> dict:
    match = re.search(r'<script id="revenue-chart-data" type="application/json">(.*?)</script>', html, re.S)
    assert match, "the chart data element is missing"
    return json.loads(match.group(1))


@pytest.mark.parametrize("role_user", ["manager", "executive", "administrator"], indirect=True)
def test_every_role_sees_the_card(client, role_user):
    customer = CustomerFactory(name="Anna Berg")
    client.force_login(role_user)
    assert "Anna Berg" in _card(client, customer)


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    customer = CustomerFactory()
    response = client.get(reverse("customers:detail", args=[customer.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_user_without_a_role_is_refused(client, db):
    customer = CustomerFactory()
    client.force_login(UserFactory(username="nobody"))
    assert client.get(reverse("customers:detail", args=[customer.pk])).status_code == 403


def test_an_unknown_customer_is_not_found(manager_client):
    assert manager_client.get(reverse("customers:detail", args=[999999])).status_code == 404


def test_the_header_shows_who_the_customer_is(manager_client, manager):
    customer = CustomerFactory(
        name="Anna Berg",
        company="Berg GmbH",
        external_id="K-1001",
        segment=SegmentFactory(name="Wholesale"),
        account_manager=manager,
        status=Customer.Status.DEFECTED,
        status_changed_at=dt.datetime(2025, 3, 2, 9, tzinfo=dt.UTC),
    )
    html = _card(manager_client, customer)
    for text in ("Berg GmbH", "K-1001", "Wholesale", manager.get_full_name(), "Defected since 2025-03-02"):
        assert text in html


def test_the_do_not_contact_banner_and_preferences_are_impossible_to_miss(manager_client):
    customer = CustomerFactory(
        do_not_contact=True,
        preferred_channel=Customer.Channel.EMAIL,
        contact_notes="no phone calls",
        survey_opt_out_at=dt.datetime(2025, 2, 3, 12, tzinfo=dt.UTC),
    )
    html = _card(manager_client, customer)
    assert re.search(r'<div class="alert alert-danger[^"]*" role="alert">.*?Do not contact', html, re.S)
    assert "Prefers email; no phone calls" in html
    assert "Opted out of surveys on 2025-02-03" in html


def test_there_is_no_banner_for_customers_who_may_be_contacted(manager_client):
    html = _card(manager_client, CustomerFactory(do_not_contact=False, contact_notes=""))
    assert 'role="alert"' not in html
    assert "Do not contact" not in html
    assert "Opted out of surveys" not in html


@time_machine.travel(NOW, tick=False)
def test_the_key_figures_come_from_the_customer_and_the_last_365_days(manager_client):
    customer = CustomerFactory(
        first_purchase_at=dt.datetime(2022, 1, 10, 12, tzinfo=dt.UTC),
        last_purchase_at=dt.datetime(2025, 6, 5, 12, tzinfo=dt.UTC),
        order_count=8,
        lifetime_revenue=Decimal("1000.00"),
        r_score=4,
        f_score=2,
        m_score=5,
    )
    TransactionFactory(customer=customer, amount=Decimal("300.00"), occurred_at=NOW - dt.timedelta(days=10))
    TransactionFactory(customer=customer, amount=Decimal("200.00"), occurred_at=NOW - dt.timedelta(days=364))
    TransactionFactory(
        customer=customer, amount=Decimal("50.00"), kind=Transaction.Kind.REFUND, occurred_at=NOW - dt.timedelta(days=5)
    )
    TransactionFactory(customer=customer, amount=Decimal("999.00"), occurred_at=NOW - dt.timedelta(days=400))

    response = manager_client.get(reverse("customers:detail", args=[customer.pk]))
    card = response.context["card"]
    assert card.orders_last_year == 2
    assert card.revenue_last_year == Decimal("450.00")
    assert card.days_since_last_purchase == 10
    html = response.content.decode()
    for text in ("2022-01-10", "2025-06-05", "1,000.00 EUR", "125.00 EUR", "450.00 EUR", "R 4 · F 2 · M 5"):
        assert text in html


@time_machine.travel(NOW, tick=False)
def test_the_chart_shows_24_months_of_purchases_minus_refunds_in_the_business_time_zone(manager_client):
    customer = CustomerFactory()
    # 23:30 UTC on 31 January is already February in Berlin.
    TransactionFactory(
        customer=customer, amount=Decimal("100.00"), occurred_at=dt.datetime(2025, 1, 31, 23, 30, tzinfo=dt.UTC)
    )
    TransactionFactory(customer=customer, amount=Decimal("40.00"), occurred_at=dt.datetime(2025, 2, 10, tzinfo=dt.UTC))
    TransactionFactory(
        customer=customer,
        amount=Decimal("30.00"),
        kind=Transaction.Kind.REFUND,
        occurred_at=dt.datetime(2025, 2, 20, tzinfo=dt.UTC),
    )
    TransactionFactory(
        customer=customer, amount=Decimal("75.50"), occurred_at=dt.datetime(2023, 7, 1, 8, tzinfo=dt.UTC)
    )
    TransactionFactory(
        customer=customer, amount=Decimal("500.00"), occurred_at=dt.datetime(2023, 6, 30, 8, tzinfo=dt.UTC)
    )

    data = _chart(_card(manager_client, customer))
    assert len(data["months"]) == len(data["values"]) == 24
    assert data["months"][0] == "2023-07"
    assert data["months"][-1] == "2025-06"
    by_month = dict(zip(data["months"], data["values"], strict=True))
    assert by_month["2025-02"] == 110.0
    assert by_month["2025-01"] == 0
    assert by_month["2023-07"] == 75.5
    assert sum(data["values"]) == 185.5
    assert data["currency"] == "EUR"


def test_the_chart_has_a_text_alternative(manager_client):
    html = _card(manager_client, CustomerFactory())
    assert '<table class="visually-hidden">' in html
    assert "Monthly revenue, last 24 months" in html
    assert "static/js/customer_chart.js" in html
    assert "<script>" not in html  # data and code come from json_script and static files only


def test_the_latest_fifty_purchases_are_listed_with_the_total(manager_client):
    customer = CustomerFactory()
    for day in range(55):
        TransactionFactory(
            customer=customer, external_id=f"T-{day:03d}", occurred_at=NOW - dt.timedelta(days=day), amount=day + 1
        )
    html = _card(manager_client, customer)
    assert "Showing the latest 50 of 55 transactions." in html
    assert "T-000" in html
    assert "T-049" in html
    assert "T-050" not in html


def test_a_refund_is_labelled_in_the_purchases_table(manager_client):
    customer = CustomerFactory()
    TransactionFactory(customer=customer, kind=Transaction.Kind.REFUND, amount=Decimal("12.00"))
    html = _card(manager_client, customer)
    assert '<span class="badge text-bg-warning">Refund</span>' in html
    assert "1 transaction." in html


@time_machine.travel(NOW, tick=False)
def test_interactions_show_owner_and_status_with_overdue_ones_highlighted(manager_client, other_manager):
    customer = CustomerFactory()
    InteractionFactory(
        customer=customer,
        kind=Interaction.Kind.COMPLAINT,
        summary="Parcel arrived broken",
        owner=other_manager,
        status=Interaction.Status.OPEN,
        due_at=NOW - dt.timedelta(days=1),
    )
    InteractionFactory(
        customer=customer,
        kind=Interaction.Kind.SUPPORT_REQUEST,
        summary="Where is my invoice?",
        status=Interaction.Status.OPEN,
        due_at=NOW + dt.timedelta(days=2),
    )
    InteractionFactory(
        customer=customer,
        kind=Interaction.Kind.CALL,
        channel=Interaction.Channel.PHONE,
        summary="Thanked us",
        status=Interaction.Status.RESOLVED,
        resolved_at=NOW - dt.timedelta(days=3),
    )
    html = _card(manager_client, customer)
    assert "Parcel arrived broken" in html
    assert other_manager.get_full_name() in html
    assert html.count("list-group-item-danger") == 1
    assert "Overdue</span> was due 2025-06-14" in html
    assert "Awaiting answer</span> due 2025-06-17" in html
    assert "Resolved</span> 2025-06-12" in html
    assert "Phone" in html


def test_interaction_summaries_are_escaped(manager_client):
    customer = CustomerFactory()
    InteractionFactory(customer=customer, summary='<script>alert("x")</script>\nsecond line')
    html = _card(manager_client, customer)
    assert '<script>alert("x")</script>' not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;\nsecond line" in html


def test_the_survey_and_case_panels_have_honest_empty_states(manager_client):
    html = _card(manager_client, CustomerFactory())
    assert "No survey answers yet." in html
    assert "No win-back cases yet." in html


@pytest.mark.parametrize(
    ("who", "owns", "edit", "log"),
    [
        ("manager", True, True, True),
        ("manager", False, False, True),
        ("executive", False, False, False),
        ("administrator", False, True, True),
    ],
)
def test_the_buttons_follow_the_policy(client, request, who, owns, edit, log):
    user = request.getfixturevalue(who)
    customer = CustomerFactory(account_manager=user if owns else None)
    client.force_login(user)
    html = _card(client, customer)
    assert (f'href="{reverse("customers:edit", args=[customer.pk])}"' in html) is edit
    assert (f'href="{reverse("customers:preferences", args=[customer.pk])}"' in html) is edit
    assert (f'href="{reverse("customers:interaction_create", args=[customer.pk])}"' in html) is log


def test_the_card_runs_a_bounded_number_of_queries(manager_client, manager, django_assert_max_num_queries):
    customer = CustomerFactory(account_manager=manager)
    TransactionFactory.create_batch(30, customer=customer)
    for _ in range(10):
        InteractionFactory(customer=customer, owner=UserFactory(), status=Interaction.Status.OPEN)
    with django_assert_max_num_queries(
        15
    ):  # 10, the status history, the defection events, 1 per surveys and cases panel
        html = _card(manager_client, customer)
    assert "30 transactions." in html


def test_more_than_fifty_interactions_are_counted_within_the_budget(manager_client, django_assert_max_num_queries):
    customer = CustomerFactory()
    InteractionFactory.create_batch(52, customer=customer)
    with django_assert_max_num_queries(16):  # 13, plus 1 per surveys and cases card panel
        html = _card(manager_client, customer)
    assert "Showing the latest 50 of 52 interactions." in html
