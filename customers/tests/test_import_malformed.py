"""IMP-02 (RELIABILITY.md): the malformed corpus, each file generated here, through the real upload
view and the real management commands. Each malformed file gets its specific error code and line in
the error report, no request answers 5xx and nothing is written; the accepted oddities (BOM,
semicolons with decimal commas, zero amounts, refunds, unknown columns, quoted newlines, script and
formula text) import verbatim."""

import codecs
import csv
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.urls import reverse

from customers.models import Customer, ImportRun, Interaction, Segment, Transaction
from customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

TX = "customer_id,occurred_at,amount,external_id,kind\n"
CU = "customer_id,name,email\n"
# Enough good rows to push what follows past the 64 KB sample that the first look reads.
TX_PAD = "".join(f"C1,2025-01-01,1.00,P{i},purchase\n" for i in range(3000))
CU_PAD = "".join(f"P{i},Padding Person {i},p{i}@example.org\n" for i in range(3000))
PAD_ROWS = 3000
MB = 1024 * 1024


@dataclass(frozen=True)
class Case:
    name: str
    kind: str
    content: bytes
    code: str
    line: int
    says: tuple[str, ...] = ()


def b(text: str) -> bytes:
    return text.encode()


CORPUS = [
    Case("empty file", "customers", b"", "empty_file", 1),
    Case("empty file", "transactions", b"", "empty_file", 1),
    Case("blank lines only", "transactions", b"\r\n\r\n", "empty_file", 1),
    Case("header only", "customers", b(CU), "no_rows", 2),
    Case("header only", "transactions", codecs.BOM_UTF8 + b(TX), "no_rows", 2),
    Case("missing required column", "customers", b("customer_id,name\nC7,Anna\n"), "missing_column", 1, ("email",)),
    Case("missing required column", "transactions", b("customer_id,amount\nC1,10\n"), "missing_column", 1),
    Case("duplicate header", "customers", b("customer_id,name,email,Name\nC7,A,a@x.org,B\n"), "duplicate_column", 1),
    Case(
        "duplicate header",
        "transactions",
        b("customer_id,occurred_at,amount,amount\nC1,2025-01-01,1,1\n"),
        "duplicate_column",
        1,
    ),
    Case("tab delimiter", "customers", b("customer_id\tname\temail\nC7\tA\ta@x.org\n"), "bad_delimiter", 1, ("tabs",)),
    Case("bar delimiter", "transactions", b("customer_id|occurred_at|amount\nC1|2025-01-01|1\n"), "bad_delimiter", 1),
    Case(
        "ragged row, too many fields",
        "transactions",
        b(TX + "C1,2025-01-01,1,T1,\nC1,2025-01-02,1,T2,,x\n"),
        "ragged_row",
        3,
    ),
    Case("ragged row, too few fields", "customers", b(CU + "C7,A,a@x.org\nC8,B\n"), "ragged_row", 3),
    Case(
        "unclosed quote",
        "transactions",
        b(TX + 'C1,2025-01-01,1,"T1,purchase\nC1,2025-01-02,1,T2,\n'),
        "malformed_csv",
        2,
    ),
    Case("unclosed quote at the end", "customers", b(CU + 'C7,A,a@x.org\nC8,"B,b@x.org\n'), "malformed_csv", 3),
    Case(
        "windows-1252",
        "customers",
        b(CU) + "C7,Zoë Café,z@x.org\n".encode("cp1252"),
        "not_utf8",
        2,
        ("Windows-1252", "Save it as UTF-8"),
    ),
    Case(
        "windows-1252 after 64 KB",
        "transactions",
        b(TX + TX_PAD) + "C1,2025-01-02,1.00,Tö1,purchase\n".encode("cp1252"),
        "not_utf8",
        PAD_ROWS + 2,
        ("Windows-1252", "Save it as UTF-8"),
    ),
    Case(
        "utf-16 le with bom",
        "customers",
        (CU + "C7,Anna,a@x.org\n").encode("utf-16"),
        "not_utf8",
        1,
        ("UTF-16", "Save it as UTF-8"),
    ),
    Case(
        "utf-16 le without bom",
        "transactions",
        (TX + "C1,2025-01-01,1,T1,\n").encode("utf-16-le"),
        "not_utf8",
        1,
        ("UTF-16", "Save it as UTF-8"),
    ),
    Case(
        "invalid utf-8 bytes",
        "transactions",
        b(TX + "C1,2025-01-01,1,T1,\n") + b"C1,2025-01-02,1,\xc3\x28,\n",
        "not_utf8",
        3,
        ("Save it as UTF-8",),
    ),
    Case(
        "invalid utf-8 after 64 KB",
        "customers",
        b(CU + CU_PAD) + b"C9,Bad \xed\xa0\x80 Byte,c@x.org\n",
        "not_utf8",
        PAD_ROWS + 2,
        ("Save it as UTF-8",),
    ),
    Case("nul bytes", "customers", b(CU + "C7,A\x00nna,a@x.org\n"), "nul_bytes", 2),
    Case(
        "nul bytes after 64 KB",
        "transactions",
        b(TX + TX_PAD + "C1,2025-01-02,1.00,T\x001,\n"),
        "nul_bytes",
        PAD_ROWS + 2,
    ),
    Case("1 MB single field", "customers", b(CU + f"C7,{'x' * MB},a@x.org\n"), "too_long", 2, ("name",)),
    Case("1 MB single field", "transactions", b(TX + f"C1,2025-01-01,1,{'T' * MB},\n"), "too_long", 2),
    Case("5 MB single field", "customers", b(CU + f'C7,"{"y" * 5 * MB}",a@x.org\n'), "too_long", 2),
    Case(
        "10,000 columns, one missing",
        "customers",
        b("customer_id,name," + ",".join(f"x{i}" for i in range(10_000)) + "\nC7,A" + ",v" * 10_000 + "\n"),
        "missing_column",
        1,
        ("email",),
    ),
    Case("excel serial date", "transactions", b(TX + "C1,45292,10.00,T1,purchase\n"), "bad_date", 2),
    Case("excel display date", "transactions", b(TX + "C1,01/02/2025,10.00,T1,purchase\n"), "bad_date", 2),
    Case(
        "decimal comma in a comma file",
        "transactions",
        b(TX + 'C1,2025-01-01,"12,50",T1,purchase\n'),
        "bad_amount",
        2,
        ("decimal comma",),
    ),
    Case("negative purchase", "transactions", b(TX + "C1,2025-01-01,-5.00,T1,purchase\n"), "negative_purchase", 2),
    Case("negative amount, no kind", "transactions", b(TX + "C1,2025-01-01,-5.00,T1,\n"), "negative_purchase", 2),
    Case("future date", "transactions", b(TX + "C1,2099-01-01,10.00,T1,purchase\n"), "future_date", 2),
    Case(
        "script and formula next to a bad email",
        "customers",
        b(CU + "C7,<script>alert(1)</script>,a@x.org\nC8,\"=cmd|' /C calc'!A0\",not-an-email\n"),
        "bad_email",
        3,
    ),
]


def admin_http_client(administrator) -> Client:
    client = Client(raise_request_exception=False)  # a crash must show up as a 500, not abort the run
    client.force_login(administrator)
    return client


def written() -> tuple:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'import_stage_%%'")
        stages = cursor.fetchone()[0]
    counts = (Customer.objects.count(), Transaction.objects.count(), Interaction.objects.count())
    return (*counts, Segment.objects.count(), stages)


def outcome_of(run: ImportRun, case: Case) -> list[str]:
    """What is wrong with the error report of `run` for `case` (nothing: correct)."""
    if not run.errors:
        return [f"no error reported (status {run.status})"]
    first = run.errors[0]
    wrong = []
    if (first["code"], first["line"]) != (case.code, case.line):
        wrong.append(f"first error {first['code']} line {first['line']}, expected {case.code} line {case.line}")
    wrong += [f"message lacks {phrase!r}" for phrase in case.says if phrase.lower() not in first["message"].lower()]
    if run.rejects_path:
        with open(run.rejects_path, encoding="utf-8") as handle:
            report = list(csv.DictReader(handle))
        if (report[0]["code"], report[0]["line"]) != (case.code, str(case.line)):
            wrong.append(f"rejects file starts with {report[0]['code']} line {report[0]['line']}")
    else:
        wrong.append("no rejects file")
    return wrong


def through_the_view(client: Client, case: Case, capture_on_commit) -> tuple[list[str], list[int]]:
    data = {"kind": case.kind, "file": SimpleUploadedFile(f"{case.kind}.csv", case.content, content_type="text/csv")}
    before = ImportRun.objects.count()
    with capture_on_commit(execute=True):  # files over 2 MB are checked by the (eager) Celery task
        response = client.post(reverse("customers:import_new"), data)
    statuses = [response.status_code]
    if response.status_code == 200 and ImportRun.objects.count() == before:  # refused by the form itself
        codes = [error.code for error in response.context["form"].errors.as_data().get("file", [])]
        return ([] if codes == [case.code] else [f"form errors {codes}"]), statuses
    run = ImportRun.objects.latest("pk")
    page = client.get(reverse("customers:import_detail", args=[run.pk]))
    statuses.append(page.status_code)
    wrong = outcome_of(run, case)
    if f"<code>{case.code}</code>" not in page.content.decode():
        wrong.append("the import page does not show the code")
    # Confirming anyway writes nothing: the file has problems and skipping was not asked for.
    statuses.append(client.post(reverse("customers:import_detail", args=[run.pk]), {"action": "import"}).status_code)
    return wrong, statuses


def through_the_command(tmp_path: Path, case: Case) -> list[str]:
    path = tmp_path / f"{case.kind}.csv"
    path.write_bytes(case.content)
    try:
        call_command(f"import_{case.kind}", str(path), stdout=StringIO(), stderr=StringIO())
    except CommandError:
        pass  # the command's own refusal: a message and exit status 1
    except Exception as error:  # noqa: BLE001 - a crash is what this check counts
        return [f"the command crashed: {error!r}"[:300]]
    else:
        return ["the command did not fail"]
    run = ImportRun.objects.latest("pk")
    wrong = outcome_of(run, case)
    if run.status not in (ImportRun.Status.REJECTED,):
        wrong.append(f"status {run.status}")
    return wrong


def test_imp02_each_malformed_file_gets_its_code_and_line_and_nothing_is_written(
    tmp_path, administrator, django_capture_on_commit_callbacks
):
    CustomerFactory(external_id="C1")
    client = admin_http_client(administrator)
    before = written()
    failures, server_errors, correct = [], 0, 0

    for case in CORPUS:
        wrong_view, statuses = through_the_view(client, case, django_capture_on_commit_callbacks)
        server_errors += sum(1 for status in statuses if status >= 500)
        wrong_command = through_the_command(tmp_path, case)
        correct += (not wrong_view) + (not wrong_command)
        failures += [f"{case.kind} / {case.name} / view: {w}" for w in wrong_view]
        failures += [f"{case.kind} / {case.name} / command: {w}" for w in wrong_command]
        assert written() == before, f"{case.kind} / {case.name} wrote something"

    checked = 2 * len(CORPUS)
    print(f"IMP-02: cases {checked}, correct code {correct} ({100 * correct // checked} %), 5xx {server_errors}")
    assert failures == []
    assert server_errors == 0


def test_the_upload_form_refuses_an_empty_file_with_the_empty_file_code(admin_client):
    data = {"kind": "customers", "file": SimpleUploadedFile("empty.csv", b"", content_type="text/csv")}

    response = admin_client.post(reverse("customers:import_new"), data)

    assert response.status_code == 200
    assert [error.code for error in response.context["form"].errors.as_data()["file"]] == ["empty_file"]
    assert not ImportRun.objects.exists()


def test_a_file_with_a_bad_row_is_not_imported_when_confirmed_without_skipping(admin_client):
    CustomerFactory(external_id="C1")
    content = TX + "C1,2025-01-01,1.00,T1,\nC1,2025-01-02,-2.00,T2,purchase\n"
    admin_client.post(
        reverse("customers:import_new"), {"kind": "transactions", "file": SimpleUploadedFile("t.csv", b(content))}
    )
    run = ImportRun.objects.get()

    response = admin_client.post(reverse("customers:import_detail", args=[run.pk]), {"action": "import"}, follow=True)

    assert run.errors[0]["code"] == "negative_purchase"
    assert "The file has problems" in response.content.decode()
    assert Transaction.objects.count() == 0
    assert ImportRun.objects.get().status == ImportRun.Status.CHECKED


# Accepted, not errors --------------------------------------------------------------------------


def import_through_the_page(client, kind: str, content: bytes) -> tuple[ImportRun, str]:
    response = client.post(
        reverse("customers:import_new"), {"kind": kind, "file": SimpleUploadedFile(f"{kind}.csv", content)}
    )
    assert response.status_code == 302
    run = ImportRun.objects.latest("pk")
    page = client.get(reverse("customers:import_detail", args=[run.pk])).content.decode()
    confirmed = client.post(reverse("customers:import_detail", args=[run.pk]), {"action": "import"})
    assert confirmed.status_code == 302
    run.refresh_from_db()
    return run, page


def test_a_semicolon_file_with_bom_decimal_commas_zero_amounts_and_refunds_is_accepted(admin_client):
    customer = CustomerFactory(external_id="C1")
    content = codecs.BOM_UTF8 + b(
        "customer_id;occurred_at;amount;external_id;kind\n"
        "C1;2025-01-02;1234,50;T1;purchase\nC1;2025-01-03;0;T2;\nC1;2025-01-04;-4,50;T3;refund\n"
        "C1;2025-01-05;4,50;T4;REFUND\n"
    )

    run, _ = import_through_the_page(admin_client, "transactions", content)

    assert (run.status, run.error_count, run.rows_new) == (ImportRun.Status.DONE, 0, 4)
    amounts = dict(Transaction.objects.values_list("external_id", "amount"))
    assert {key: str(value) for key, value in amounts.items()} == {
        "T1": "1234.50",
        "T2": "0.00",
        "T3": "4.50",
        "T4": "4.50",
    }
    assert set(Transaction.objects.filter(kind=Transaction.Kind.REFUND).values_list("external_id", flat=True)) == {
        "T3",
        "T4",
    }
    customer.refresh_from_db()
    assert (customer.order_count, str(customer.lifetime_revenue)) == (2, "1225.50")


def test_unknown_extra_columns_are_ignored_and_listed_as_a_warning_on_the_import_page(admin_client):
    extra = ",".join(f"col{i}" for i in range(10_000))
    content = b(f"customer_id,name,email,{extra}\nC7,Anna,a@x.org{',v' * 10_000}\n")

    run, page = import_through_the_page(admin_client, "customers", content)

    assert run.status == ImportRun.Status.DONE, run.errors
    assert run.warnings[0].startswith("Unknown columns were ignored: col0, col1, col2")
    assert "and 9980 more" in run.warnings[0]
    assert "Unknown columns were ignored: col0" in page
    assert Customer.objects.get(external_id="C7").name == "Anna"


def test_an_unknown_column_name_is_shortened_in_the_warning(admin_client):
    content = b(f"customer_id,name,email,{'z' * MB}\nC7,Anna,a@x.org,v\n")

    run, _ = import_through_the_page(admin_client, "customers", content)

    assert run.status == ImportRun.Status.DONE, run.errors
    assert len(run.warnings[0]) < 200


def test_quoted_newlines_are_kept_and_line_numbers_count_records(admin_client):
    content = b(CU + 'C7,"Anna\nBerg",a@x.org\nC8,Bob,not-an-email\n')

    run, _ = import_through_the_page(admin_client, "customers", content)

    # The bad row is the third record (the editor shows it on line 4: see docs/imports.md).
    assert [(error["code"], error["line"]) for error in run.errors] == [("bad_email", 3)]
    assert Customer.objects.count() == 0
    accepted, _ = import_through_the_page(admin_client, "customers", b(CU + 'C7,"Anna\r\nBerg",a@x.org\n'))
    assert accepted.status == ImportRun.Status.DONE
    assert Customer.objects.get(external_id="C7").name == "Anna\r\nBerg"


def test_script_and_formula_values_are_stored_verbatim(tmp_path):
    script, formula = "<script>alert(1)</script>", "=cmd|' /C calc'!A0"
    path = tmp_path / "people.csv"
    path.write_text(CU + f'C7,{script},a@x.org\nC8,"{formula}",b@x.org\nC9,@SUM(A1),c@x.org\n', encoding="utf-8")

    call_command("import_customers", str(path), stdout=StringIO(), stderr=StringIO())

    names = dict(Customer.objects.values_list("external_id", "name"))
    assert names == {"C7": script, "C8": formula, "C9": "@SUM(A1)"}
