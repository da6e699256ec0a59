"""The win-back journey in real Chromium (issue 5, the first Done-when): a manager opens the
queue, opens the top case, logs a call with a diagnosis, makes an offer and sees it accepted; a
purchase imported afterwards turns the case to won back (the nightly detection run starts case
housekeeping) with the recovered revenue shown; an executive takes a rescue case."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cases.models import Case, Offer, RescuePick, Stage, Task
from conftest import sign_in
from customers import services
from customers.detection.engine import run_detection
from customers.models import Customer, DefectionEvent, Transaction
from customers.tasks import detect_defections_task
from customers.tests.factories import CustomerFactory, SegmentFactory
from winback.tests.factories import DEMO_TEST_PASSWORD, UserFactory

pytestmark = [
    pytest.mark.usefixtures("short_lived_db_connections"),
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _defected(manager, name: str, external_id: str, amount: str) -> Customer:
    segment = SegmentFactory(name="Journey")
    segment.at_risk_days, segment.defected_days = 30, 60
    segment.save()
    customer = CustomerFactory(name=name, external_id=external_id, segment=segment, account_manager=manager)
    for days_ago in (400, 300, 200, 120):
        Transaction.objects.create(
            customer=customer,
            external_id=f"{external_id}-{days_ago}",
            occurred_at=timezone.now() - dt.timedelta(days=days_ago),
            amount=Decimal(amount),
        )
    return customer


def test_a_manager_wins_a_customer_back_and_an_executive_takes_a_rescue_case(page, live_server, tmp_path):
    manager = UserFactory(username="anna", first_name="Anna", role="Account managers")
    executive = UserFactory(username="eva", first_name="Eva", role="Executives")
    top = _defected(manager, "Greta Top", "JT1", "900.00")
    _defected(manager, "Hugo Second", "JT2", "400.00")
    run_detection(trigger="test")
    assert DefectionEvent.objects.filter(status="open").count() == 2
    detect_defections_task.apply(kwargs={"trigger": "admin"})  # then case housekeeping opens the cases
    case = Case.objects.get(customer=top)
    assert case.owner == manager

    sign_in(page, "anna", DEMO_TEST_PASSWORD)
    page.goto("/cases/")
    first_row = page.locator("table tbody tr").first
    expect(first_row).to_contain_text("Greta Top")
    first_row.get_by_role("link", name="Greta Top").click()
    expect(page.get_by_role("heading", name="Greta Top")).to_be_visible()

    log = page.locator("form[action$='/log/']")
    log.get_by_label("Apologised").check()
    log.get_by_label("Listened").check()
    log.get_by_label("Diagnosed").check()
    log.get_by_label("Reason", exact=True).select_option("delivery")
    log.get_by_label("Fault", exact=True).select_option("ours")
    log.get_by_label("Notes").fill("Two late deliveries in a row; she switched suppliers.")
    log.get_by_role("button", name="Log").click()
    expect(page.get_by_text("Two late deliveries in a row").first).to_be_visible()
    case.refresh_from_db()
    assert case.primary_reason == "delivery"
    assert case.first_contact_at is not None

    page.get_by_text("Make an offer", exact=True).click()
    offer = page.locator("form[action$='/offers/new/']")
    offer.get_by_label("Kind").select_option("discount")
    offer.get_by_label("Value").fill("15")
    offer.get_by_label("Cost to us").fill("135")
    offer.get_by_label("Expires").fill((timezone.localdate() + dt.timedelta(days=14)).isoformat())
    offer.get_by_role("button", name="Make offer").click()
    page.get_by_role("button", name="Accepted").click()
    expect(page.locator(".case-offers")).to_contain_text("Accepted")
    assert Offer.objects.get(case=case).status == Offer.Status.ACCEPTED

    purchase = tmp_path / "purchases.csv"
    bought_at = timezone.localdate().isoformat()
    purchase.write_text(f"customer_id,occurred_at,amount,external_id\nJT1,{bought_at},480.00,JT1-back\n")
    services.import_file(kind="transactions", path=purchase)
    detect_defections_task.apply(kwargs={"trigger": "beat", "slot": "journey night"})
    case.refresh_from_db()
    assert case.stage == Stage.WON_BACK
    assert Task.objects.filter(case=case, kind=Task.Kind.HEALTH_REVIEW).count() == 4

    page.reload()
    expect(page.locator(".recovered-revenue")).to_contain_text("480")
    page.screenshot(path=str(tmp_path / "case-won-back.png"), full_page=True)

    page.get_by_role("button", name="Sign out").click(force=True) if page.get_by_role(
        "button", name="Sign out"
    ).is_visible() else page.context.clear_cookies()
    page.context.clear_cookies()
    sign_in(page, "eva", DEMO_TEST_PASSWORD)
    page.goto("/cases/rescue/")
    rescue_row = page.locator("table tbody tr", has_text="Hugo Second")
    rescue_row.get_by_role("button", name="Take").click()
    expect(page.get_by_text("1 of 10 taken").first).to_be_visible()
    taken = Case.objects.get(customer__external_id="JT2")
    assert taken.owner == executive
    assert taken.rescued_by == executive
    assert manager in taken.followers.all()
    assert RescuePick.objects.filter(case=taken, executive=executive).exists()
