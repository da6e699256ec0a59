import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.http import StreamingHttpResponse
from django.urls import reverse

from customers.models import Customer
from customers.tests.factories import CustomerFactory, SegmentFactory
from winback.tests.factories import UserFactory

URL = reverse("customers:export")
HEADER = [
    "customer_id",
    "name",
    "email",
    "phone",
    "company",
    "segment",
    "account_manager",
    "language",
    "status",
    "do_not_contact",
    "last_purchase_at",
    "order_count",
    "lifetime_revenue",
]


def _rows(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("role_user", ["manager", "executive", "administrator"], indirect=True)
def test_every_role_with_the_export_permission_downloads_the_csv(client, role_user):
    CustomerFactory(name="Anna Berg")
    client.force_login(role_user)
    response = client.get(URL)
    assert response.status_code == 200
    assert [row[1] for row in _rows(response)] == ["name", "Anna Berg"]


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_user_without_the_export_permission_is_refused(client, db):
    client.force_login(UserFactory(username="nobody"))
    assert client.get(URL).status_code == 403


@time_machine.travel(dt.datetime(2025, 6, 30, 22, 30, tzinfo=dt.UTC), tick=False)
def test_the_file_is_an_uncached_attachment_named_after_the_business_date(manager_client):
    response = manager_client.get(URL)
    # 22:30 UTC is already 1 July in Berlin.
    assert response["Content-Disposition"] == 'attachment; filename="customers-2025-07-01.csv"'
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Type"] == "text/csv; charset=utf-8"


def test_every_column_is_written_in_order(manager_client, manager):
    CustomerFactory(
        external_id="K-1",
        name="Anna Berg",
        email="anna@example.org",
        phone="030 1234",
        company="Berg GmbH",
        segment=SegmentFactory(name="Wholesale"),
        account_manager=manager,
        language="de",
        status=Customer.Status.AT_RISK,
        do_not_contact=True,
        last_purchase_at=dt.datetime(2025, 1, 31, 23, 30, tzinfo=dt.UTC),
        order_count=4,
        lifetime_revenue=Decimal("1234.50"),
    )
    CustomerFactory(external_id="K-2", name="Bo", segment=None, account_manager=None, last_purchase_at=None)
    header, first, second = _rows(manager_client.get(URL))
    assert header == HEADER
    assert first == [
        "K-1",
        "Anna Berg",
        "anna@example.org",
        "030 1234",
        "Berg GmbH",
        "Wholesale",
        "manager",
        "de",
        "at_risk",
        "true",
        "2025-02-01T00:30:00+01:00",
        "4",
        "1234.50",
    ]
    assert second[0:2] == ["K-2", "Bo"]
    assert second[5:7] == ["", ""]
    assert second[9:] == ["false", "", "0", "0.00"]


def test_the_export_has_the_same_filters_and_order_as_the_list(manager_client, manager):
    # Companies are fixed so that the search for "rich" can only match the name.
    CustomerFactory(name="Cheap", company="A", account_manager=manager, lifetime_revenue=10)
    CustomerFactory(name="Rich", company="B", account_manager=manager, lifetime_revenue=900)
    CustomerFactory(
        name="Middle", company="C", account_manager=manager, lifetime_revenue=300, status=Customer.Status.DEFECTED
    )
    CustomerFactory(name="Someone else's", company="D", lifetime_revenue=5000)
    params = {"manager": "mine", "sort": "-revenue"}

    listed = [customer.name for customer in manager_client.get(reverse("customers:list"), params).context["page"]]
    exported = [row[1] for row in _rows(manager_client.get(URL, params))[1:]]
    assert exported == listed == ["Rich", "Middle", "Cheap"]
    assert [row[1] for row in _rows(manager_client.get(URL, {"status": "defected"}))[1:]] == ["Middle"]
    assert [row[1] for row in _rows(manager_client.get(URL, {"q": "rich"}))[1:]] == ["Rich"]


def test_the_export_includes_every_page_not_just_the_first(manager_client):
    CustomerFactory.create_batch(120)
    assert len(_rows(manager_client.get(URL))) == 121


@pytest.mark.parametrize(
    "dangerous",
    ["=cmd|' /C calc'!A0", "+1+2", "-2+3", "@SUM(A1:A2)", "\tindent", "\rreturn"],
)
def test_cells_a_spreadsheet_would_run_as_formulas_are_neutralised(manager_client, dangerous):
    CustomerFactory(name=dangerous, company=dangerous, phone=dangerous)
    row = _rows(manager_client.get(URL))[1]
    assert row[1] == row[3] == row[4] == "'" + dangerous


def test_quotes_commas_and_newlines_survive_a_round_trip(manager_client):
    tricky = 'Anna "the boss", Berg\nsecond line'
    CustomerFactory(name=tricky, company="Plain")
    CustomerFactory(name="Bo")
    rows = _rows(manager_client.get(URL))
    assert len(rows) == 3
    assert rows[1][1] == tricky
    assert rows[1][4] == "Plain"


def test_amounts_are_written_as_plain_numbers(manager_client):
    CustomerFactory(lifetime_revenue=Decimal("-12.50"), order_count=3)
    row = _rows(manager_client.get(URL))[1]
    assert row[-2:] == ["3", "-12.50"]


def test_the_export_runs_a_constant_number_of_queries(manager_client, django_assert_max_num_queries):
    for index in range(60):
        CustomerFactory(segment=SegmentFactory(name=f"Segment {index % 5}"), account_manager=UserFactory())
    with django_assert_max_num_queries(8):
        rows = _rows(manager_client.get(URL))
    assert len(rows) == 61
