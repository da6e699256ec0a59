"""The queue's exports: the same rows as the queue, as filtered, only visible cases, with formula
cells neutralised (SUR-10) and files that re-parse to the same rows."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from cases.models import Case, Stage
from cases.tests.factories import CaseFactory
from customers.tests.factories import CustomerFactory
from winback.tests.factories import UserFactory

CSV = reverse("cases:export", args=["csv"])
XLSX = reverse("cases:export", args=["xlsx"])
DANGEROUS = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\tTab", "\rCR", 'Quote " and, comma\nnew line']


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


def xlsx_rows(response) -> list[list]:
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    return [list(row) for row in workbook.active.iter_rows(values_only=True)]


def make_case(owner, value, *, name=None, overdue=False, **kwargs):
    customer = CustomerFactory(account_manager=owner, **({"name": name} if name else {}))
    case = CaseFactory(owner=owner, customer=customer, value_at_stake=Decimal(value), **kwargs)
    if overdue:
        Case.objects.filter(pk=case.pk).update(deadline_at=timezone.now() - dt.timedelta(hours=1))
    return case


def test_the_csv_holds_the_queue_in_its_order_with_every_column(manager_client, manager):
    cheap_late = make_case(manager, "10", overdue=True)
    dear = make_case(manager, "900")
    response = manager_client.get(CSV)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = csv_rows(response)
    assert rows[0] == [
        "Case id",
        "Customer id",
        "Customer name",
        "Segment",
        "Stage",
        "Owner",
        "Value at stake",
        "Reason",
        "Fault",
        "Opened",
        "Next deadline",
        "Overdue",
        "Won back",
        "Closed",
    ]
    assert [int(row[0]) for row in rows[1:]] == [cheap_late.pk, dear.pk]
    first = rows[1]
    assert first[1] == cheap_late.customer.external_id
    assert first[3] == "Retail"
    assert first[4] == "New"
    assert first[5] == (manager.get_full_name() or manager.username)
    assert Decimal(first[6]) == Decimal("10")
    assert (first[11], rows[2][11]) == ("yes", "no")


def test_the_export_is_exactly_the_filtered_queue(manager_client, manager):
    make_case(manager, "10")
    contacting = make_case(manager, "20", stage=Stage.CONTACTING)
    rows = csv_rows(manager_client.get(CSV, {"stage": "contacting"}))
    assert [int(row[0]) for row in rows[1:]] == [contacting.pk]
    xrows = xlsx_rows(manager_client.get(XLSX, {"stage": "contacting"}))
    assert [row[0] for row in xrows[1:]] == [contacting.pk]


def test_a_manager_export_never_holds_another_managers_cases(manager_client, manager, other_manager):
    mine = make_case(manager, "10")
    make_case(other_manager, "20")
    make_case(None, "30")  # the pool is not the queue
    for params in ({}, {"owner": other_manager.pk}, {"owner": "none"}, {"q": "a"}):
        rows = csv_rows(manager_client.get(CSV, params))
        assert {int(row[0]) for row in rows[1:]} <= {mine.pk}
    assert [int(r[0]) for r in csv_rows(manager_client.get(CSV))[1:]] == [mine.pk]


@pytest.mark.parametrize("role_user", ["executive", "administrator"], indirect=True)
def test_executives_and_administrators_export_every_open_case(client, role_user):
    cases = [make_case(None, "10"), make_case(UserFactory(role="Account managers"), "20")]
    client.force_login(role_user)
    rows = csv_rows(client.get(CSV))
    assert {int(row[0]) for row in rows[1:]} == {case.pk for case in cases}


def test_formula_cells_are_neutralised_in_csv_and_xlsx(manager_client, manager):
    for n, text in enumerate(DANGEROUS):
        make_case(manager, str(100 - n), name=text)
    rows = csv_rows(manager_client.get(CSV))
    assert len(rows) == len(DANGEROUS) + 1
    names = [row[2] for row in rows[1:]]
    for text in DANGEROUS[:-1]:
        assert "'" + text in names
    assert DANGEROUS[-1] in names  # quotes, commas and line breaks survive RFC 4180 quoting
    xrows = xlsx_rows(manager_client.get(XLSX))
    assert len(xrows) == len(DANGEROUS) + 1
    xnames = [row[2] for row in xrows[1:]]
    for text in DANGEROUS[:-1]:
        assert any(name.startswith("'") and text.strip("\t\r") in name for name in xnames)
    unsafe = sum(
        isinstance(cell, str) and cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in xrows for cell in row
    )
    print(f"SUR-10 (cases export): rows={len(rows) - 1} unsafe cells={unsafe}")
    assert unsafe == 0


def test_the_xlsx_re_parses_to_the_csv_rows(manager_client, manager):
    for n in range(5):
        make_case(manager, str(10 * n + 1), overdue=n % 2 == 0)
    rows = csv_rows(manager_client.get(CSV))
    xrows = xlsx_rows(manager_client.get(XLSX))
    assert len(xrows) == len(rows)
    assert [str(row[0]) for row in xrows[1:]] == [row[0] for row in rows[1:]]
    assert [Decimal(str(row[6])) for row in xrows[1:]] == [Decimal(row[6]) for row in rows[1:]]


def test_the_export_has_a_fixed_number_of_queries(manager_client, manager, django_assert_max_num_queries):
    for n in range(35):
        make_case(manager, str(n + 1), overdue=n % 4 == 0)
    with django_assert_max_num_queries(10):
        rows = csv_rows(manager_client.get(CSV))
    assert len(rows) == 36
    with django_assert_max_num_queries(10):
        assert len(xlsx_rows(manager_client.get(XLSX))) == 36


def test_anonymous_visitors_and_users_without_a_role_get_no_file(client, db):
    make_case(UserFactory(role="Account managers"), "10")
    assert client.get(CSV)["Location"].startswith("/accounts/login/")
    client.force_login(UserFactory(username="nobody"))
    assert client.get(CSV).status_code == 403
    assert client.get(XLSX).status_code == 403


def test_an_unknown_format_is_a_404(manager_client):
    assert manager_client.get(reverse("cases:export", args=["pdf"])).status_code == 404
