"""SUR-09 / SUR-10 extended to the dashboard (issue 6): the same ≥150 hostile payloads as the
reviewer inbox's check, stored as customers' open-text survey answers (five a month, so each shows
under "In their own words" on the dashboard of its month) and as customer names (shown on the
drill-down list), rendered in headless Chromium listening for dialogs and CSP violations. Every
payload must show literally, nothing may run, template syntax must not be evaluated; the voices
export and the drill-down export must hold every payload, formula cells neutralised."""

import csv
import datetime as dt
import io
import math

import openpyxl
import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import sign_in
from customers.tests.factories import CustomerFactory
from surveys.tests.test_inbox_support import make_response, new_survey
from surveys.tests.test_inbox_xss import PAYLOADS, RECORDER
from winback.dashboard.drill_views import PAGE_SIZE
from winback.dashboard.periods import add_months
from winback.exports import FORMULA_TRIGGERS
from winback.tests.factories import DEMO_TEST_PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PER_MONTH = 5  # the dashboard shows the latest five answers of its period
FIRST_MONTH = dt.date(2022, 1, 1)


def _normal(text: str) -> str:
    return " ".join(text.split())


def _month(index: int) -> dt.date:
    return add_months(FIRST_MONTH, index // PER_MONTH)


def _month_query(month: dt.date) -> str:
    return f"?period=month&month={month:%Y-%m}"


def _neutral(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


@pytest.fixture
def hostile_history(db):
    survey = new_survey()
    zone = timezone.get_default_timezone()
    for index, payload in enumerate(PAYLOADS):
        month = _month(index)
        customer = CustomerFactory(name=payload, status="at_risk", segment=None)
        submitted = dt.datetime(month.year, month.month, 10, 8, index % PER_MONTH, tzinfo=zone)
        make_response(customer=customer, survey=survey, text=payload, submitted_at=submitted, event_status="closed")
    viewer = UserFactory(username="xss-exec", role="Executives")
    viewer.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    return viewer


def test_sur09_hostile_answers_and_names_on_the_dashboard_are_shown_as_text_and_never_run(
    page, live_server, hostile_history
):
    assert len(PAYLOADS) >= 150
    expected = {_normal(payload) for payload in PAYLOADS}
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.add_init_script(RECORDER)
    csp_violations = 0
    sign_in(page, hostile_history.username, DEMO_TEST_PASSWORD)

    def visit(url: str) -> None:
        nonlocal csp_violations
        page.goto(url)
        page.wait_for_load_state("load")
        csp_violations += page.evaluate("window.__csp || 0")

    # "In their own words" on the dashboard, one month at a time.
    voices: set[str] = set()
    months = sorted({_month(index) for index in range(len(PAYLOADS))})
    for month in months:
        visit(reverse("dashboard:home") + _month_query(month))
        shown = {_normal(text) for text in page.locator(".dash-voice").all_inner_texts()}
        voices |= shown
    assert expected <= voices, expected - voices

    # The drill-down list behind "at risk": every customer name, every page.
    names: set[str] = set()
    for number in range(1, math.ceil(len(PAYLOADS) / PAGE_SIZE) + 1):
        visit(reverse("dashboard:drill", args=["at_risk"]) + f"?page={number}")
        names |= {_normal(text) for text in page.locator(".drill-customer").all_inner_texts()}
    assert expected <= names, expected - names
    assert "{{7*7}}" in names  # template syntax shown, not evaluated
    assert "{% debug %}" in names

    executions = len(dialogs)
    print(
        f"SUR-09 (dashboard): payloads={len(PAYLOADS)} executions={executions} csp_violations={csp_violations}"
        f" months={len(months)}"
    )
    assert executions == 0, dialogs


def _download(client: Client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def test_sur10_the_voices_and_drill_down_exports_hold_every_payload_neutralised(hostile_history):
    client = Client()
    client.force_login(hostile_history)
    period = f"?period=custom&from={FIRST_MONTH:%Y-%m}&to={_month(len(PAYLOADS) - 1):%Y-%m}"
    wanted = sorted(_neutral(payload) for payload in PAYLOADS)

    text = _download(client, reverse("dashboard:export", args=["voices", "csv"]) + period).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 1 + len(PAYLOADS)  # re-parses to the same row count
    assert sorted(row[4] for row in rows[1:]) == wanted

    sheet = openpyxl.load_workbook(
        io.BytesIO(_download(client, reverse("dashboard:export", args=["voices", "xlsx"]) + period))
    ).active
    cells = [row[4] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert len(cells) == len(PAYLOADS)
    unsafe = [cell for cell in cells if isinstance(cell, str) and cell.startswith(FORMULA_TRIGGERS)]
    assert unsafe == []

    text = _download(client, reverse("dashboard:drill", args=["at_risk"]) + "?format=csv").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert sorted(row[1] for row in rows[1:]) == wanted
    print(f"SUR-10 (dashboard): rows={len(PAYLOADS)} unsafe_cells={len(unsafe)}")
