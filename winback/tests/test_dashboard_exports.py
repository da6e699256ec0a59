"""The dashboard's tables as CSV and XLSX (issue 6, "Exports"): every table in both formats, with
the page's filters, after a fact refresh; hostile cells neutralised (RELIABILITY.md SUR-10); the
permission of every role; a query budget."""

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from cases.models import CorrectiveAction
from cases.tests.factories import CorrectiveActionFactory
from customers.models import Reason
from customers.tests.factories import CustomerFactory, SegmentFactory
from surveys.tests.factories import DefectionEventFactory
from surveys.tests.test_inbox_support import make_response, new_survey
from winback.dashboard.refresh import refresh_facts

pytestmark = pytest.mark.django_db

MARCH = {"period": "month", "month": "2025-03"}
TABLES = ["headline", "monthly", "reasons", "funnel", "cohorts", "people", "actions", "voices"]
HOSTILE = ['=HYPERLINK("http://x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)"]


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=timezone.get_default_timezone())


@pytest.fixture
def history(db):
    north, south = SegmentFactory(name="North"), SegmentFactory(name="South")
    first = local(2024, 6, 1, 12)
    for n, (segment, reason, lost) in enumerate(
        [(north, Reason.PRICE, "1200"), (north, Reason.PRICE, "800"), (south, Reason.SERVICE, "500"), (south, "", "50")]
    ):
        customer = CustomerFactory(name=f"D{n}", segment=segment, first_purchase_at=first)
        DefectionEventFactory(
            customer=customer, as_of=dt.date(2025, 3, 10 + n), primary_reason=reason, lost_revenue=Decimal(lost)
        )
    for n in range(3):
        CustomerFactory(name=f"Stays {n}", segment=north, first_purchase_at=first)
    survey = new_survey()
    voice = CustomerFactory(name="Voice", segment=north, external_id="V-1")
    make_response(
        customer=voice,
        survey=survey,
        text="The price went up twice.",
        submitted_at=local(2025, 3, 20, 10),
        event_status="closed",
    )
    make_response(
        customer=voice,
        survey=survey,
        text="Outside the period.",
        submitted_at=local(2025, 4, 1, 0, 0),
        event_status="closed",
    )
    CorrectiveActionFactory(title="Explain price changes", reason=Reason.PRICE, lost_revenue=Decimal("2000"))
    refresh_facts(trigger="test")
    return {"north": north, "south": south}


def download(client, table: str, fmt: str, params=None) -> list[list]:
    response = client.get(reverse("dashboard:export", args=[table, fmt]), params or MARCH)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert f"dashboard-{table}-" in response["Content-Disposition"]
    content = b"".join(response.streaming_content)
    if fmt == "csv":
        assert response["Content-Type"].startswith("text/csv")
        return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    return [["" if cell is None else str(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]


def by_first(rows: list[list]) -> dict[str, list]:
    return {row[0]: row for row in rows[1:]}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_every_table_downloads_with_its_header_and_rows(executive_client, history, fmt):
    headline = by_first(download(executive_client, "headline", fmt))
    assert len(headline) == 15
    assert headline["Defected"][2] == "4"
    assert headline["Active at the start"][2] == "7"
    assert Decimal(headline["Lost revenue (annual)"][2]) == Decimal("2550")

    monthly = download(executive_client, "monthly", fmt)
    assert monthly[0][:3] == ["Month", "Active at the start", "Defected"]
    assert len(monthly) == 1 + 24
    assert by_first(monthly)["2025-03"][2] == "4"

    reasons = download(executive_client, "reasons", fmt)
    assert [row[1] for row in reasons[1:]] == ["price", "service", ""]  # by lost revenue
    assert [row[2] for row in reasons[1:]] == ["2", "1", "1"]

    funnel = download(executive_client, "funnel", fmt)
    assert [row[1] for row in funnel[1:]] == ["defected", "invited", "answered", "contacted", "offered", "won_back"]
    assert funnel[1][2] == "4"

    cohorts = download(executive_client, "cohorts", fmt)
    assert cohorts[0][:3] == ["Cohort", "Joined", "Month 0"]
    assert len(cohorts) == 1 + 12

    people = download(executive_client, "people", fmt)
    assert people[0][0] == "Account manager"

    actions = download(executive_client, "actions", fmt)
    assert [row[1] for row in actions[1:]] == ["Explain price changes"]

    voices = download(executive_client, "voices", fmt)
    assert voices[0] == ["Answered", "Customer id", "Customer", "Reason given", "In their own words"]
    assert [(row[1], row[4]) for row in voices[1:]] == [("V-1", "The price went up twice.")]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_tables_follow_the_segment_filter(executive_client, history, fmt):
    params = {**MARCH, "segment": history["south"].pk}
    assert by_first(download(executive_client, "headline", fmt, params))["Defected"][2] == "2"
    assert download(executive_client, "voices", fmt, params)[1:] == []


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_sur10_formula_cells_are_neutralised_in_actions_and_voices(executive_client, history, fmt):
    survey = new_survey()
    customer = CustomerFactory(segment=history["north"])
    for n, text in enumerate(HOSTILE):
        CorrectiveActionFactory(title=text, reason=Reason.PRICE, lost_revenue=Decimal(100 + n))
        make_response(
            customer=customer, survey=survey, text=text, submitted_at=local(2025, 3, 5, n), event_status="closed"
        )
    actions = download(executive_client, "actions", fmt)
    voices = download(executive_client, "voices", fmt)
    titles = {row[1] for row in actions[1:]}
    texts = {row[4] for row in voices[1:]}
    for text in HOSTILE:
        assert "'" + text in titles, text
        assert "'" + text in texts, text
        assert text not in titles
        assert text not in texts
    assert CorrectiveAction.objects.count() == len(actions) - 1  # re-parses to the same row count


def test_an_unknown_table_or_format_is_not_found(executive_client, history):
    assert executive_client.get(reverse("dashboard:export", args=["secrets", "csv"])).status_code == 404
    assert executive_client.get(reverse("dashboard:export", args=["headline", "pdf"])).status_code == 404


def test_a_download_takes_a_fixed_number_of_queries(executive_client, history, django_assert_max_num_queries):
    for table in TABLES:
        with django_assert_max_num_queries(14):
            response = executive_client.get(reverse("dashboard:export", args=[table, "csv"]), MARCH)
            b"".join(response.streaming_content)


URL = reverse("dashboard:export", args=["headline", "csv"])


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_manager_without_the_permission_is_refused(manager_client, history):
    assert manager_client.get(URL).status_code == 403


def test_a_manager_with_the_permission_downloads_the_tables_but_not_the_answers(client, manager, history):
    manager.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    client.force_login(manager)
    assert client.get(URL).status_code == 200
    # Survey answers leave the application only with executives and administrators (surveys.policy).
    assert client.get(reverse("dashboard:export", args=["voices", "csv"])).status_code == 403


@pytest.mark.parametrize("role_user", ["executive", "administrator"], indirect=True)
def test_executives_and_administrators_download_every_table(client, role_user, history):
    client.force_login(role_user)
    for table in TABLES:
        assert client.get(reverse("dashboard:export", args=[table, "xlsx"]), MARCH).status_code == 200
