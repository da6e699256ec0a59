"""The corrective actions exports: CSV and XLSX of the list exactly as filtered, in its order,
with formula cells neutralised (SUR-10), re-parsing to the same rows."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from cases.services.actions import link_events
from cases.tests.factories import CorrectiveActionFactory
from customers.models import DefectionEvent, Reason
from surveys.tests.factories import DefectionEventFactory

PAYLOADS = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tTAB", "\rCR", 'quote " and\nnewline']


def _csv(answer) -> list[list[str]]:
    text = b"".join(answer.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


def _xlsx(answer) -> list[list]:
    workbook = load_workbook(io.BytesIO(b"".join(answer.streaming_content)))
    return [list(row) for row in workbook.active.iter_rows(values_only=True)]


def _ranked():
    low, high = CorrectiveActionFactory(title="Low"), CorrectiveActionFactory(title="High", reason=Reason.PRICE)
    for action, amount in ((low, "10"), (high, "500")):
        event = DefectionEventFactory(lost_revenue=Decimal(amount))
        link_events(action, DefectionEvent.objects.filter(pk=event.pk))
    return low, high


@pytest.mark.parametrize("role_user", ["manager", "executive", "administrator"], indirect=True)
def test_every_role_exports_the_list_in_its_order(client, role_user):
    _ranked()
    client.force_login(role_user)
    rows = _csv(client.get(reverse("cases:actions_export", args=["csv"])))
    assert [row[1] for row in rows[1:]] == ["High", "Low"]
    assert rows[1][8] == "500.00"


def test_the_export_follows_the_lists_filters(manager_client):
    _ranked()
    rows = _csv(manager_client.get(reverse("cases:actions_export", args=["csv"]), {"reason": "price"}))
    assert [row[1] for row in rows[1:]] == ["High"]
    rows = _xlsx(manager_client.get(reverse("cases:actions_export", args=["xlsx"]), {"reason": "price"}))
    assert [row[1] for row in rows[1:]] == ["High"]


def test_formula_cells_are_neutralised_and_the_files_reparse(manager_client):
    for payload in PAYLOADS:
        CorrectiveActionFactory(title=payload, department=payload, description=payload)
    rows = _csv(manager_client.get(reverse("cases:actions_export", args=["csv"])))
    assert len(rows) == len(PAYLOADS) + 1
    titles = sorted(row[1] for row in rows[1:])
    assert titles == sorted(("'" + p if p[0] in "=+-@\t\r" else p) for p in PAYLOADS)
    for row in rows[1:]:
        for cell in (row[1], row[5], row[11]):
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    sheet = _xlsx(manager_client.get(reverse("cases:actions_export", args=["xlsx"])))
    assert len(sheet) == len(PAYLOADS) + 1
    for row in sheet[1:]:
        assert not str(row[1]).startswith(("=", "+", "-", "@", "\t", "\r"))


def test_an_unknown_format_is_a_404(manager_client):
    assert manager_client.get(reverse("cases:actions_export", args=["pdf"])).status_code == 404


def test_the_export_runs_a_fixed_number_of_queries(manager_client, django_assert_max_num_queries):
    for _ in range(30):
        CorrectiveActionFactory()
    with django_assert_max_num_queries(6):
        rows = _csv(manager_client.get(reverse("cases:actions_export", args=["csv"])))
    assert len(rows) == 31
