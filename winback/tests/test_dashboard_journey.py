"""The dashboard in real Chromium (issue 6, the last Done-when): an executive filters it, reads the
charts and headline, switches the Pareto chart, clicks a bar through to the customers behind it
and downloads a table; executives change nothing from it; account managers see it only once an
administrator allows it.

The hand-made history (built in the last complete month, the default period):
- Wholesale: 3 passive defections for "price" (150 + 200 + 250 = 600 lost), 2 active ones for
  "delivery" (1,800 + 1,200 = 3,000 lost), one older "price" defection 13 months earlier (outside
  the quarter; that customer is no longer in the active stock), and 5 customers still buying.
  Active at the start of the quarter: 5 still buying + 5 defecting in it = 10; churn 5 / 10 = 50%.
- Retail: 1 passive defection with no reason yet (700 lost) and 2 customers still buying.
  So with no filter the month has 6 defections and 4,300 lost.
"""

import datetime as dt
import re
from decimal import Decimal

import openpyxl
import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.utils import timezone
from playwright.sync_api import expect

from conftest import sign_in
from customers.models import Customer, DefectionEvent
from customers.tests.factories import CustomerFactory, SegmentFactory
from winback.dashboard.models import FactRefresh
from winback.dashboard.periods import add_months, this_month
from winback.dashboard.refresh import refresh_facts
from winback.tests.factories import DEMO_TEST_PASSWORD

pytestmark = [
    pytest.mark.usefixtures("short_lived_db_connections"),
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CHARTS = ("chart-monthly", "chart-kinds", "chart-reasons", "chart-funnel")
PRICE = "Price / competitor offer"

# Every element that sticks out to the right of the viewport, outside any scrolling container.
OVERFLOWING = """() => {
  const width = window.innerWidth;
  const clipped = (el) => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== "visible") return true;
    }
    return false;
  };
  return [...document.body.querySelectorAll("*")]
    .filter((el) => el.getBoundingClientRect().right > width + 1 && !clipped(el))
    .map((el) => `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}.${[...el.classList].join(".")}`
      + ` right=${Math.round(el.getBoundingClientRect().right)}`);
}"""


def _money(amount: int) -> str:
    return f"{amount:,.0f} {settings.WINBACK_CURRENCY}"


def _customer(name: str, segment, joined: dt.datetime, status=Customer.Status.ACTIVE) -> Customer:
    return CustomerFactory(name=name, segment=segment, status=status, first_purchase_at=joined)


def _defection(customer: Customer, month: dt.date, lost: str, *, kind: str, reason: str = "") -> None:
    now = timezone.now()
    DefectionEvent.objects.create(
        customer=customer,
        kind=kind,
        detected_at=now,
        as_of=month + dt.timedelta(days=9),
        lost_revenue=Decimal(lost),
        primary_reason=reason,
        status_changed_at=now,
    )


def _history() -> dict:
    last_month = add_months(this_month(), -1)
    joined = timezone.make_aware(dt.datetime.combine(add_months(last_month, -18), dt.time(12)))
    wholesale, retail = SegmentFactory(name="Wholesale"), SegmentFactory(name="Retail")
    defected = Customer.Status.DEFECTED
    for name, lost in (("Paula Price", "150.00"), ("Peter Price", "200.00"), ("Pia Price", "250.00")):
        _defection(_customer(name, wholesale, joined, defected), last_month, lost, kind="passive", reason="price")
    for name, lost in (("Dora Delivery", "1800.00"), ("Dirk Delivery", "1200.00")):
        _defection(_customer(name, wholesale, joined, defected), last_month, lost, kind="active", reason="delivery")
    earlier = add_months(last_month, -13)
    _defection(
        _customer("Olga Earlier", wholesale, joined, defected), earlier, "999.00", kind="passive", reason="price"
    )
    for index in range(5):
        _customer(f"Steady Wholesale {index}", wholesale, joined)
    _defection(_customer("Rita Retail", retail, joined, defected), last_month, "700.00", kind="passive")
    for index in range(2):
        _customer(f"Steady Retail {index}", retail, joined)
    refresh_facts()
    quarter = f"{last_month.year}-Q{(last_month.month - 1) // 3 + 1}"
    return {"month": last_month, "quarter": quarter, "wholesale": wholesale}


def _figure(page, key: str):
    return page.locator(f"[data-figure='{key}'] .figure-value")


def _wait_for_charts(page) -> None:
    page.wait_for_function("() => window.winbackDashboardCharts && window.winbackDashboardCharts.reasons")


def _chart(page, name: str, expression: str):
    return page.evaluate(f"() => {{ const chart = window.winbackDashboardCharts.{name}; return {expression}; }}")


def _legend(page, name: str) -> list[str]:
    return _chart(page, name, "chart.legend.legendItems.map((item) => item.text)")


def _click_bar(page, canvas_id: str, chart_name: str, index: int) -> None:
    """Clicks the middle of a bar of a chart's first dataset, where Chart.js drew it."""
    canvas = page.locator(f"#{canvas_id}")
    canvas.scroll_into_view_if_needed()
    bar = _chart(page, chart_name, f"(({{x, y, base}}) => ({{x, y, base}}))(chart.getDatasetMeta(0).data[{index}])")
    box = canvas.bounding_box()
    page.mouse.click(box["x"] + bar["x"], box["y"] + (bar["y"] + bar["base"]) / 2)


def test_an_executive_filters_the_dashboard_reads_its_charts_drills_into_a_reason_and_downloads_a_table(
    page, executive, tmp_path
):
    history = _history()
    month_label = history["month"].strftime("%Y-%m")
    wholesale = history["wholesale"]

    sign_in(page, executive.username, DEMO_TEST_PASSWORD)
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(_figure(page, "defected")).to_have_text("6")
    expect(_figure(page, "lost_revenue")).to_have_text(_money(4300))

    page.get_by_label("Period").select_option(label="Quarter")
    page.get_by_label("Quarter", exact=True).fill(history["quarter"])
    page.get_by_label("Segment").select_option(label="Wholesale")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"period=quarter"))
    expect(page).to_have_url(re.compile(rf"quarter={history['quarter']}"))
    expect(page).to_have_url(re.compile(rf"segment={wholesale.pk}\b"))
    expect(page.get_by_label("Period")).to_have_value("quarter")
    expect(page.get_by_label("Quarter", exact=True)).to_have_value(history["quarter"])
    expect(page.get_by_label("Segment")).to_have_value(str(wholesale.pk))

    expect(_figure(page, "defected")).to_have_text("5")
    expect(_figure(page, "defected_passive")).to_have_text("3")
    expect(_figure(page, "defected_active")).to_have_text("2")
    expect(_figure(page, "active_start")).to_have_text("10")
    expect(_figure(page, "churn_rate")).to_have_text("50.0%")
    expect(_figure(page, "lost_revenue")).to_have_text(_money(3600))

    _wait_for_charts(page)
    for canvas_id in CHARTS:
        assert page.evaluate(f"() => !!Chart.getChart(document.getElementById('{canvas_id}'))"), canvas_id
    assert page.locator("#chart-actions").count() == 0  # no corrective actions in this history
    assert _legend(page, "monthly") == ["Lost revenue", "Churn rate"]
    assert _legend(page, "kinds") == ["Passive (stopped buying)", "Active (cancelled)"]
    assert _legend(page, "reasons") == ["Lost revenue", "Cumulative share"]
    at = _chart(page, "monthly", f"chart.data.labels.indexOf('{month_label}')")
    assert at >= 0
    assert _chart(page, "monthly", f"chart.data.datasets.map((d) => d.data[{at}])") == [3600, 50]
    assert _chart(page, "kinds", f"chart.data.datasets.map((d) => d.data[{at}])") == [3, 2]
    earlier = add_months(history["month"], -13).strftime("%Y-%m")
    assert _chart(page, "monthly", f"chart.data.datasets[0].data[chart.data.labels.indexOf('{earlier}')]") == 999
    assert _chart(page, "funnel", "chart.data.datasets[0].data[0]") == 5

    assert _chart(page, "reasons", "chart.data.labels") == ["Delivery", PRICE]
    assert _chart(page, "reasons", "chart.data.datasets[0].data") == [3000, 600]
    page.get_by_role("button", name="By count").click()
    expect(page.get_by_role("button", name="By count")).to_have_attribute("aria-pressed", "true")
    assert _legend(page, "reasons") == ["Defections", "Cumulative share"]
    assert _chart(page, "reasons", "chart.data.labels") == [PRICE, "Delivery"]
    assert _chart(page, "reasons", "chart.data.datasets[0].data") == [3, 2]
    page.screenshot(path=str(tmp_path / "dashboard-desktop.png"), full_page=True)

    _click_bar(page, "chart-reasons", "reasons", 1)  # "Delivery", second by count
    expect(page).to_have_url(re.compile(r"/dashboard/list/defected/\?.*reason=delivery"))
    expect(page).to_have_url(re.compile(rf"segment={wholesale.pk}\b"))
    expect(page).to_have_url(re.compile(rf"quarter={history['quarter']}"))
    expect(page.locator(".drill-customer")).to_have_count(2)
    assert sorted(page.locator(".drill-customer").all_inner_texts()) == ["Dirk Delivery", "Dora Delivery"]

    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Dashboard").click()
    expect(page).to_have_url(re.compile(rf"/dashboard/\?.*segment={wholesale.pk}\b"))
    with page.expect_download() as download_info:
        page.locator("a[data-export='reasons-xlsx']").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    rows = list(openpyxl.load_workbook(saved).active.iter_rows(values_only=True))
    assert rows[0] == ("Reason", "Key", "Defections", "Lost revenue")
    by_key = {row[1]: row for row in rows[1:]}
    assert set(by_key) == {"delivery", "price"}
    assert by_key["delivery"][2] == 2
    assert Decimal(str(by_key["delivery"][3])) == Decimal("3000")
    assert by_key["price"][2] == 3

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    _wait_for_charts(page)
    page.screenshot(path=str(tmp_path / "dashboard-phone.png"), full_page=True)
    overflowing = page.evaluate(OVERFLOWING)
    fits = page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert fits, f"the dashboard is wider than a phone: {overflowing}"


def test_executives_cannot_change_anything_from_the_dashboard(page, executive, administrator):
    _history()
    sign_in(page, executive.username, DEMO_TEST_PASSWORD)
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    _wait_for_charts(page)
    forms = page.evaluate(
        "() => [...document.forms].map((f) => ({method: f.method, action: f.getAttribute('action') || '',"
        " filters: f.classList.contains('dash-filters')}))"
    )
    assert [form for form in forms if form["method"] == "get"] == [{"method": "get", "action": "", "filters": True}]
    # The only POST form is the navbar's "Sign out", which changes no data.
    assert [form["action"] for form in forms if form["method"] == "post"] == ["/accounts/logout/"]
    expect(page.get_by_role("button", name="Refresh now")).to_have_count(0)

    refreshes = FactRefresh.objects.count()
    token = page.evaluate("() => JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']")
    refused = page.request.post("/dashboard/refresh/", headers={"X-CSRFToken": token}, max_redirects=0)
    assert refused.status == 403
    assert "CSRF verification failed" not in refused.text()  # refused for the role, not the token
    assert FactRefresh.objects.count() == refreshes

    page.context.clear_cookies()
    sign_in(page, administrator.username, DEMO_TEST_PASSWORD)
    page.goto("/dashboard/")
    token = page.evaluate("() => JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']")
    accepted = page.request.post("/dashboard/refresh/", headers={"X-CSRFToken": token}, max_redirects=0)
    assert accepted.status == 302  # the same request from an administrator starts a refresh
    assert FactRefresh.objects.count() == refreshes + 1


def test_an_account_manager_sees_the_dashboard_only_once_an_administrator_allows_it(page, manager):
    _history()
    navbar = page.get_by_role("navigation", name="Main navigation")
    sign_in(page, manager.username, DEMO_TEST_PASSWORD)
    expect(page).to_have_url(re.compile(r"/customers/$"))
    expect(navbar.get_by_role("link", name="Customers", exact=True)).to_be_visible()
    expect(navbar.get_by_role("link", name="Dashboard", exact=True)).to_have_count(0)
    assert page.goto("/dashboard/").status == 403

    manager.user_permissions.add(Permission.objects.get(codename="view_dashboard", content_type__app_label="winback"))
    page.goto("/customers/")
    navbar.get_by_role("link", name="Dashboard", exact=True).click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.get_by_role("heading", name="Churn dashboard")).to_be_visible()
    expect(_figure(page, "defected")).to_have_text("6")
    _wait_for_charts(page)
