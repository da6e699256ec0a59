"""The journeys a person takes, in real Chromium against the live server (PostgreSQL)."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from conftest import sign_in
from customers.models import Customer, Interaction
from customers.tests.factories import CustomerFactory, InteractionFactory, TransactionFactory
from winback.tests.factories import DEMO_TEST_PASSWORD

# The flush after a transactional test empties every table, including the role groups the data
# migration created; serialized_rollback restores them before each test.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_manager_finds_a_customer_and_sees_the_do_not_contact_banner(page, manager):
    careful = CustomerFactory(
        name="Greta Vollmer",
        company="Vollmer Bau",
        do_not_contact=True,
        account_manager=manager,
        contact_notes="no phone calls",
        preferred_channel="email",
    )
    TransactionFactory(customer=careful)
    CustomerFactory.create_batch(3)

    sign_in(page, manager.username, DEMO_TEST_PASSWORD)
    expect(page).to_have_url(re.compile(r"/customers/$"))
    page.get_by_role("searchbox").fill("Vollmer")
    page.get_by_role("searchbox").press("Enter")
    expect(page.get_by_role("link", name="Greta Vollmer")).to_be_visible()
    expect(page.locator("tbody tr")).to_have_count(1)

    page.get_by_role("link", name="Greta Vollmer").click()
    expect(page).to_have_url(re.compile(rf"/customers/{careful.pk}/$"))
    expect(page.get_by_role("alert").filter(has_text="Do not contact")).to_be_visible()
    expect(page.get_by_text("no phone calls")).to_be_visible()


def test_an_executive_filters_sorts_and_reads_a_card_with_its_revenue_chart(page, executive):
    now = timezone.now()
    rich = CustomerFactory(
        name="Hannah Richter",
        status=Customer.Status.DEFECTED,
        lifetime_revenue=Decimal("5400.00"),
        order_count=12,
        last_purchase_at=now - dt.timedelta(days=100),
        preferred_channel="phone",
    )
    for months_ago in range(12):
        TransactionFactory(
            customer=rich, amount=Decimal("450.00"), occurred_at=now - dt.timedelta(days=100 + 30 * months_ago)
        )
    InteractionFactory(
        customer=rich,
        summary="Complained about late delivery\nand asked for a call back",
        status=Interaction.Status.OPEN,
        due_at=now - dt.timedelta(days=2),
    )
    CustomerFactory(name="Small Defector", status=Customer.Status.DEFECTED, lifetime_revenue=Decimal("80.00"))
    CustomerFactory(name="Still Active", status=Customer.Status.ACTIVE, lifetime_revenue=Decimal("9000.00"))

    sign_in(page, executive.username, DEMO_TEST_PASSWORD)
    page.goto("/customers/")  # executives land on the dashboard
    page.get_by_label("Status").select_option("defected")  # submits by itself
    expect(page).to_have_url(re.compile(r"status=defected"))
    expect(page.locator("tbody tr")).to_have_count(2)
    page.get_by_role("link", name="Lifetime revenue").click()
    expect(page).to_have_url(re.compile(r"sort=-revenue"))
    expect(page.locator("tbody tr").first).to_contain_text("Hannah Richter")
    expect(page.get_by_role("link", name="New customer")).to_have_count(0)

    page.get_by_role("link", name="Hannah Richter").click()
    expect(page.get_by_text("Prefers phone")).to_be_visible()
    expect(page.get_by_text("Overdue")).to_be_visible()
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('revenue-chart'))")
    values = page.evaluate("() => Chart.getChart(document.getElementById('revenue-chart')).data.datasets[0].data")
    assert len(values) == 24
    assert sum(values) == pytest.approx(5400.0)
