"""The journeys a person takes, in real Chromium against the live server (PostgreSQL)."""

import re

import pytest
from playwright.sync_api import expect

from conftest import sign_in
from customers.tests.factories import CustomerFactory, TransactionFactory
from winback.tests.factories import DEMO_TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


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
