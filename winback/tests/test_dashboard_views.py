"""The dashboard page, the monthly report and the refresh button: who may see and do what, the
filters kept in the URL, a bounded number of queries, and dashboard access granted to an account
manager by an administrator."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers.models import DefectionEvent
from customers.tests.factories import CustomerFactory, SegmentFactory
from winback.dashboard.periods import add_months, this_month
from winback.dashboard.refresh import refresh_facts
from winback.models import FactRefresh

pytestmark = pytest.mark.django_db

PAGES = ("dashboard:home", "dashboard:report")


def grant_dashboard(user) -> None:
    user.user_permissions.add(Permission.objects.get(codename="view_dashboard", content_type__app_label="winback"))


def a_defection(month: dt.date, *, lost: str = "1200.00", kind: str = "passive", segment=None) -> DefectionEvent:
    customer = CustomerFactory(segment=segment)
    customer.first_purchase_at = timezone.make_aware(dt.datetime.combine(add_months(month, -6), dt.time(12)))
    customer.save(update_fields=["first_purchase_at"])
    now = timezone.now()
    return DefectionEvent.objects.create(
        customer=customer,
        kind=kind,
        detected_at=now,
        as_of=month + dt.timedelta(days=9),
        lost_revenue=Decimal(lost),
        status_changed_at=now,
    )


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", PAGES)
def test_an_account_manager_without_the_permission_is_refused(manager_client, name):
    assert manager_client.get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", PAGES)
def test_an_account_manager_an_administrator_allowed_sees_it(manager, client, name):
    grant_dashboard(manager)
    client.force_login(manager)
    assert client.get(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", PAGES)
def test_executives_and_administrators_see_it(executive, administrator, name):
    for user in (executive, administrator):
        browser = Client()
        browser.force_login(user)
        assert browser.get(reverse(name)).status_code == 200


def test_the_page_reads_a_bounded_number_of_queries(executive_client, django_assert_max_num_queries):
    segment = SegmentFactory()
    last_month = add_months(this_month(), -1)
    for index in range(5):
        a_defection(add_months(last_month, -index), segment=segment)
    refresh_facts()
    with django_assert_max_num_queries(20):
        response = executive_client.get(reverse("dashboard:home"), {"period": "year", "year": last_month.year})
    assert response.status_code == 200
    with django_assert_max_num_queries(20):
        executive_client.get(reverse("dashboard:home"), {"segment": segment.pk})


def test_the_page_shows_the_period_figures_and_when_the_data_is_from(executive_client):
    last_month = add_months(this_month(), -1)
    a_defection(last_month, lost="1500.00")
    a_defection(last_month, lost="500.00", kind="active")
    run = refresh_facts()
    html = executive_client.get(reverse("dashboard:home")).content.decode()
    assert last_month.strftime("%B %Y") in html
    assert f"Data as of {timezone.localtime(run.finished_at):%Y-%m-%d %H:%M}" in html
    assert 'data-figure="defected"' in html
    assert "2,000 EUR" in html  # lost revenue of the two defections
    assert "chart-monthly" in html
    assert "dashboard-data" in html


def test_before_any_refresh_the_page_says_so(executive_client):
    html = executive_client.get(reverse("dashboard:home")).content.decode()
    assert "Not refreshed yet" in html
    assert "No defections in this period." in html


def test_the_filters_stay_in_the_links(executive_client):
    segment = SegmentFactory()
    query = {"period": "quarter", "quarter": "2026-Q2", "segment": segment.pk}
    html = executive_client.get(reverse("dashboard:home"), query).content.decode()
    assert "Q2 2026" in html
    assert f"period=quarter&amp;quarter=2026-Q2&amp;segment={segment.pk}" in html  # exports and drill-downs
    assert "Changes are against Q1 2026." in html


def test_a_bad_filter_is_reported_and_the_defaults_are_shown(executive_client):
    response = executive_client.get(reverse("dashboard:home"), {"period": "custom", "from": "2026-07", "to": "2026-03"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "The range must end on or after its first month." in html
    assert add_months(this_month(), -1).strftime("%B %Y") in html


def test_the_monthly_report_is_a_print_page_with_the_figures(executive_client):
    html = executive_client.get(reverse("dashboard:report"), {"period": "month", "month": "2026-09"}).content.decode()
    assert "Churn report: September 2026" in html
    assert "Compared with August 2026." in html
    assert "data-print" in html
    assert 'id="report-headline"' in html


def test_administrators_start_a_refresh_and_return_to_the_same_view(admin_client):
    a_defection(add_months(this_month(), -1))
    response = admin_client.post(reverse("dashboard:refresh"), {"query": "period=year&year=2026"})
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:home") + "?period=year&year=2026"
    run = FactRefresh.objects.get()  # the test settings run tasks eagerly
    assert run.status == FactRefresh.Status.DONE
    assert run.trigger.startswith("user ")


def test_executives_and_managers_cannot_refresh_and_nobody_refreshes_with_a_get(executive, manager, administrator):
    grant_dashboard(manager)
    for user, method, status in ((executive, "post", 403), (manager, "post", 403), (administrator, "get", 405)):
        browser = Client()
        browser.force_login(user)
        assert getattr(browser, method)(reverse("dashboard:refresh")).status_code == status
    assert not FactRefresh.objects.exists()


def test_only_administrators_see_the_refresh_button(executive, administrator):
    for user, shown in ((executive, False), (administrator, True)):
        browser = Client()
        browser.force_login(user)
        assert ("Refresh now" in browser.get(reverse("dashboard:home")).content.decode()) is shown


def test_an_administrator_gives_an_account_manager_the_dashboard(administrator, manager):
    form = {
        "first_name": manager.first_name,
        "last_name": manager.last_name,
        "email": manager.email or "m@example.com",
        "role": "Account managers",
        "is_active": "on",
        "dashboard": "on",
    }
    admin, staff = Client(), Client()
    admin.force_login(administrator)
    staff.force_login(manager)
    assert admin.post(reverse("staff:user_edit", args=[manager.pk]), form).status_code == 302
    assert staff.get(reverse("dashboard:home")).status_code == 200
    assert 'href="/dashboard/"' in staff.get(reverse("customers:list")).content.decode()
    form.pop("dashboard")
    assert admin.post(reverse("staff:user_edit", args=[manager.pk]), form).status_code == 302
    assert staff.get(reverse("dashboard:home")).status_code == 403


def test_executives_land_on_the_dashboard_and_the_others_on_the_customer_list(executive, manager, administrator):
    grant_dashboard(manager)
    for user, landing in (
        (executive, "dashboard:home"),
        (manager, "customers:list"),
        (administrator, "customers:list"),
    ):
        browser = Client()
        browser.force_login(user)
        assert browser.get("/").url == reverse(landing)
