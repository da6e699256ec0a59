"""Import checks on real files against PostgreSQL: formats, every error kind, idempotency,
whole-file rejection and skipping bad rows (IMP-01 to IMP-03)."""

import codecs
import datetime as dt
import time
from decimal import Decimal

import pytest
from django.db import connection

from customers import services
from customers.models import Customer, ImportRun, Interaction, Segment, Transaction
from customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def write(tmp_path, content, name="file.csv"):
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def run_import(tmp_path, kind, content, **options):
    return services.import_file(kind=kind, path=write(tmp_path, content), **options)


def codes(run):
    return [(error["code"], error["line"]) for error in run.errors]


CUSTOMERS = "customer_id,name,email,segment,language,do_not_contact\n007,Anna Berg,anna@example.org,Retail,pl,yes\n"


def test_a_customers_file_creates_customers_with_ids_kept_verbatim(tmp_path):
    run = run_import(tmp_path, "customers", CUSTOMERS + "0008,Bob Dow,bob@example.org,,,\n")

    assert run.status == ImportRun.Status.DONE
    assert services.import_summary(run) == "2 new, 0 updated, 0 unchanged"
    anna = Customer.objects.get(external_id="007")
    assert (anna.name, anna.language, anna.do_not_contact, anna.segment.name) == ("Anna Berg", "pl", True, "Retail")
    bob = Customer.objects.get(external_id="0008")
    assert (bob.language, bob.do_not_contact, bob.segment) == ("en", False, None)
    assert run.warnings == ["New segments created with the default detection settings: Retail."]


def test_reimporting_the_same_file_changes_nothing_and_says_so(tmp_path):
    run_import(tmp_path, "customers", CUSTOMERS)
    before = Customer.objects.get(external_id="007").updated_at

    again = run_import(tmp_path, "customers", CUSTOMERS)

    assert services.import_summary(again) == "0 new, 0 updated, 1 unchanged"
    assert Customer.objects.get(external_id="007").updated_at == before
    assert any("already imported" in warning for warning in again.warnings)
    print(f"\nIMP-03 (identical re-upload): duplicate rows created {Customer.objects.count() - 1}")


def test_an_overlapping_file_updates_changed_customers_and_keeps_values_of_empty_cells(tmp_path):
    run_import(tmp_path, "customers", CUSTOMERS)
    run = run_import(
        tmp_path,
        "customers",
        "customer_id,name,email,segment,language,do_not_contact\n"
        "007,Anna Berg-Nowak,anna@example.org,,,\n009,Cleo Park,cleo@example.org,retail,,\n",
    )

    assert services.import_summary(run) == "1 new, 1 updated, 0 unchanged"
    anna = Customer.objects.get(external_id="007")
    assert (anna.name, anna.language, anna.do_not_contact) == ("Anna Berg-Nowak", "pl", True)
    assert Customer.objects.get(external_id="009").segment == anna.segment  # segment names match in any case
    assert Segment.objects.count() == 1


def test_account_managers_are_named_by_username_or_email(tmp_path, manager, other_manager):
    run = run_import(
        tmp_path,
        "customers",
        f"customer_id,name,email,account_manager\n1,A,a@example.org,{manager.username.upper()}\n"
        f"2,B,b@example.org,{other_manager.email}\n3,C,c@example.org,nobody\n",
        skip_invalid=True,
    )

    assert codes(run) == [("unknown_user", 4)]
    assert Customer.objects.get(external_id="1").account_manager == manager
    assert Customer.objects.get(external_id="2").account_manager == other_manager


def test_a_semicolon_file_with_bom_and_decimal_commas_imports_purchases_and_refunds(tmp_path):
    customer = CustomerFactory(external_id="007")
    content = (
        "customer_id;occurred_at;amount;external_id;kind\n"
        "007;2025-01-02;12,50;T1;purchase\n"
        "007;2025-02-02T10:00:00+01:00;-3,00;T2;refund\n"
        "007;2025-03-01 09:30;0;T3;\n"
    )
    run = run_import(tmp_path, "transactions", codecs.BOM_UTF8 + content.encode())

    assert services.import_summary(run) == "3 new, 0 updated, 0 unchanged"
    amounts = dict(Transaction.objects.values_list("external_id", "amount"))
    assert amounts == {"T1": Decimal("12.50"), "T2": Decimal("3.00"), "T3": Decimal("0.00")}
    assert Transaction.objects.get(external_id="T2").kind == Transaction.Kind.REFUND
    customer.refresh_from_db()
    assert customer.order_count == 2
    assert customer.lifetime_revenue == Decimal("9.50")
    # A date without an offset is midnight in the business time zone (Europe/Berlin in winter: UTC+1).
    assert customer.first_purchase_at == dt.datetime(2025, 1, 1, 23, tzinfo=dt.UTC)
    assert customer.last_purchase_at == dt.datetime(2025, 3, 1, 8, 30, tzinfo=dt.UTC)


def test_reimporting_transactions_with_ids_is_a_no_op_and_a_changed_amount_is_an_update(tmp_path):
    CustomerFactory(external_id="C1")
    header = "customer_id,occurred_at,amount,external_id\n"
    run_import(tmp_path, "transactions", header + "C1,2025-01-02,10.00,T1\nC1,2025-01-03,20.00,T2\n")

    same = run_import(tmp_path, "transactions", header + "C1,2025-01-02,10.00,T1\nC1,2025-01-03,20.00,T2\n")
    changed = run_import(tmp_path, "transactions", header + "C1,2025-01-02,10.00,T1\nC1,2025-01-03,25.00,T2\n")

    assert services.import_summary(same) == "0 new, 0 updated, 2 unchanged"
    assert services.import_summary(changed) == "0 new, 1 updated, 1 unchanged"
    assert Transaction.objects.count() == 2
    assert Customer.objects.get(external_id="C1").lifetime_revenue == Decimal("35.00")


def test_a_transactions_file_without_ids_is_refused_the_second_time(tmp_path):
    CustomerFactory(external_id="C1")
    content = "customer_id,occurred_at,amount\nC1,2025-01-02,10.00\n"
    first = run_import(tmp_path, "transactions", content)

    second = run_import(tmp_path, "transactions", content)

    assert first.status == ImportRun.Status.DONE
    assert second.status == ImportRun.Status.REJECTED
    assert codes(second) == [("duplicate_file", None)]
    assert Transaction.objects.count() == 1


def test_interactions_import_and_reimport_without_duplicates(tmp_path, manager):
    CustomerFactory(external_id="C1")
    content = (
        "customer_id,occurred_at,kind,summary,channel,owner\n"
        f'C1,2025-05-01T10:00,Complaint,"Parcel late,\nagain",phone,{manager.username}\n'
        "C1,2025-05-02T10:00,cancellation,Cancelled the contract,,\n"
    )
    first = run_import(tmp_path, "interactions", content)
    second = run_import(tmp_path, "interactions", content)

    assert services.import_summary(first) == "2 new, 0 updated, 0 unchanged"
    assert services.import_summary(second) == "0 new, 0 updated, 2 unchanged"
    complaint = Interaction.objects.get(kind=Interaction.Kind.COMPLAINT)
    assert (complaint.summary, complaint.channel, complaint.owner) == ("Parcel late,\nagain", "phone", manager)
    assert Interaction.objects.get(kind=Interaction.Kind.CANCELLATION).channel == Interaction.Channel.OTHER


TX = "customer_id,occurred_at,amount,external_id,kind\n"
MALFORMED = {
    "empty file": (b"", "empty_file", None),
    "header only": (TX, "no_rows", 2),
    "missing required column": ("customer_id,amount\nC1,10\n", "missing_column", 1),
    "duplicate header": ("customer_id,occurred_at,amount,amount\nC1,2025-01-01,1,1\n", "duplicate_column", 1),
    "tab delimiter": ("customer_id\toccurred_at\tamount\nC1\t2025-01-01\t1\n", "bad_delimiter", 1),
    "too many fields": (TX + "C1,2025-01-01,1,T1,purchase\nC1,2025-01-02,1,T2,purchase,oops\n", "ragged_row", 3),
    "too few fields": (TX + "C1,2025-01-01,1,T1,purchase\nC1,2025-01-02\n", "ragged_row", 3),
    "unclosed quote": (TX + 'C1,2025-01-01,1,"T1,purchase\nC1,2025-01-02,1,T2,purchase\n', "malformed_csv", 2),
    "windows-1252": ("customer_id,occurred_at,amount\nCafé,2025-01-01,1\n".encode("cp1252"), "not_utf8", None),
    "utf-16": ("customer_id,occurred_at,amount\nC1,2025-01-01,1\n".encode("utf-16"), "not_utf8", None),
    "invalid utf-8": (
        b"customer_id,occurred_at,amount\nC1,2025-01-01,1\n\xff\xfe\xfa,2025-01-01,1\n",
        "not_utf8",
        None,
    ),
    "nul bytes": (b"customer_id,occurred_at,amount\nC1,2025-01-01,1\x00\n", "nul_bytes", 2),
    "excel serial date": (TX + "C1,45292,10.00,T1,purchase\n", "bad_date", 2),
    "us date": (TX + "C1,01/02/2025,10.00,T1,purchase\n", "bad_date", 2),
    "impossible date": (TX + "C1,2025-02-30,10.00,T1,purchase\n", "bad_date", 2),
    "future date": (TX + "C1,2099-01-01,10.00,T1,purchase\n", "future_date", 2),
    "decimal comma in comma file": (TX + 'C1,2025-01-01,"12,50",T1,purchase\n', "bad_amount", 2),
    "text amount": (TX + "C1,2025-01-01,ten,T1,purchase\n", "bad_amount", 2),
    "three decimals": (TX + "C1,2025-01-01,1.005,T1,purchase\n", "bad_amount", 2),
    "negative purchase": (TX + "C1,2025-01-01,-5.00,T1,purchase\n", "negative_purchase", 2),
    "unknown kind": (TX + "C1,2025-01-01,5.00,T1,gift\n", "bad_kind", 2),
    "unknown customer": (TX + "C404,2025-01-01,5.00,T1,purchase\n", "unknown_customer", 2),
    "missing value": (TX + ",2025-01-01,5.00,T1,purchase\n", "missing_value", 2),
    "id too long": (TX + f"C1,2025-01-01,5.00,{'T' * 65},purchase\n", "too_long", 2),
}


@pytest.mark.parametrize("case", list(MALFORMED), ids=list(MALFORMED))
def test_each_malformed_file_gets_its_specific_error_and_nothing_is_written(tmp_path, case):
    CustomerFactory(external_id="C1")
    content, code, line = MALFORMED[case]

    run = run_import(tmp_path, "transactions", content)

    assert run.status == ImportRun.Status.REJECTED
    assert run.errors[0]["code"] == code, run.errors
    if line is not None:
        assert run.errors[0]["line"] == line
    assert run.errors[0]["message"]
    assert Transaction.objects.count() == 0


def test_repeated_keys_in_one_file_are_reported_with_both_lines(tmp_path):
    CustomerFactory(external_id="C1")
    run = run_import(tmp_path, "transactions", TX + "C1,2025-01-01,1,T1,\nC1,2025-01-02,2,T2,\nC1,2025-01-03,3,T1,\n")

    assert codes(run) == [("duplicate_key", 2), ("duplicate_key", 4)]
    assert "first on line 2" in run.errors[1]["message"]
    assert Transaction.objects.count() == 0
    print("\nIMP-03 (the same id twice in a file): rejected naming lines 2 and 4, duplicate rows created 0")


def test_accepted_oddities_import_verbatim_with_warnings(tmp_path):
    extra = ",".join(f"extra{i}" for i in range(10_000))
    payload = "<script>alert(1)</script>"
    content = f'customer_id,name,email,{extra}\nC9,"{payload}",x@example.org{"," * 10_000}\n'
    content += "C10,\"=cmd|' /C calc'!A0\",y@example.org" + "," * 10_000 + "\n"

    run = run_import(tmp_path, "customers", content)

    assert run.status == ImportRun.Status.DONE, run.errors
    assert Customer.objects.get(external_id="C9").name == payload
    assert Customer.objects.get(external_id="C10").name.startswith("=cmd")
    assert run.warnings[0].startswith("Unknown columns were ignored: extra0, extra1")
    assert "and 9980 more" in run.warnings[0]


def test_a_huge_single_field_is_reported_as_too_long(tmp_path):
    run = run_import(tmp_path, "customers", f"customer_id,name,email\nC1,{'x' * 1_000_000},a@example.org\n")

    assert codes(run) == [("too_long", 2)]
    assert Customer.objects.count() == 0


def test_one_bad_row_at_the_end_rejects_the_whole_file_naming_line_and_column(tmp_path):
    """IMP-01 (a): a 100,000-row customers file whose line 99,999 is bad."""
    rows = [f"C{i},Name {i},c{i}@example.org\n" for i in range(1, 100_001)]
    rows[99_997] = "C99998,Bad Row,not-an-email\n"  # line 99,999 (the header is line 1)
    started = time.monotonic()
    run = run_import(tmp_path, "customers", "customer_id,name,email\n" + "".join(rows))
    seconds = time.monotonic() - started

    assert run.status == ImportRun.Status.REJECTED
    assert run.errors == [
        {
            "line": 99_999,
            "column": "email",
            "code": "bad_email",
            "message": '"not-an-email" is not an email address.',
            "value": "not-an-email",
        }
    ]
    assert Customer.objects.count() == 0
    print(f"\nIMP-01 (bad row at line 99,999 of 100,000): rows committed 0, time to reject {seconds:.1f} s")


def test_skip_invalid_imports_the_good_rows_and_writes_the_rejects_with_reasons(tmp_path):
    CustomerFactory(external_id="C1")
    run = run_import(
        tmp_path,
        "transactions",
        TX + "C1,2025-01-01,5.00,T1,\nC404,2025-01-01,5.00,T2,\nC1,2025-01-02,-1,T3,\nC1,2025-01-03,=1+1,T4,\n",
        skip_invalid=True,
    )

    assert run.status == ImportRun.Status.DONE
    assert services.import_summary(run) == "1 new, 0 updated, 0 unchanged, 3 rejected"
    assert list(Transaction.objects.values_list("external_id", flat=True)) == ["T1"]
    with open(run.rejects_path, encoding="utf-8") as handle:
        rejects = handle.read().splitlines()
    assert rejects[0] == "line,column,code,message,value"
    assert sorted(line.split(",")[0] for line in rejects[1:]) == ["3", "4", "5"]
    assert any("'=1+1" in line for line in rejects)  # spreadsheet formulas are neutralised in the report


def test_a_database_error_during_the_final_write_leaves_nothing_behind(tmp_path):
    CustomerFactory(external_id="C1")
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION refuse_666() RETURNS trigger AS $$ BEGIN "
            "IF NEW.amount = 666.66 THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$ "
            "LANGUAGE plpgsql;"
            "CREATE TRIGGER refuse_666 BEFORE INSERT ON customers_transaction "
            "FOR EACH ROW EXECUTE FUNCTION refuse_666()"
        )

    run = run_import(tmp_path, "transactions", TX + "C1,2025-01-01,5.00,T1,\nC1,2025-01-02,666.66,T2,\n")

    assert run.status == ImportRun.Status.FAILED
    assert codes(run) == [("internal_error", None)]
    assert Transaction.objects.count() == 0
    assert Customer.objects.get(external_id="C1").order_count == 0
    print("\nIMP-01 (database error injected in the final write): rows committed 0")


def test_a_check_reports_what_would_change_and_writes_nothing(tmp_path):
    CustomerFactory(external_id="C1")
    run = run_import(tmp_path, "transactions", TX + "C1,2025-01-01,5.00,T1,\nC2,2025-01-01,5.00,T2,\n", dry_run=True)

    assert run.status == ImportRun.Status.CHECKED
    assert codes(run) == [("unknown_customer", 3)]
    assert services.import_summary(run) == "1 new, 0 updated, 0 unchanged, 1 rejected"
    assert run.preview[0] == ["customer_id", "occurred_at", "amount", "external_id", "kind"]
    assert Transaction.objects.count() == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'import_stage_%%'")
        assert cursor.fetchone()[0] == 0


def test_purchase_figures_stay_exact_whether_a_file_only_adds_or_also_repeats_purchases(tmp_path):
    customer = CustomerFactory(external_id="C1")
    header = "customer_id,occurred_at,amount,external_id,kind\n"
    run_import(tmp_path, "transactions", header + "C1,2025-01-02,10.00,T1,\nC1,2025-02-02,20.00,T2,\n")
    overlapping = run_import(
        tmp_path, "transactions", header + "C1,2025-02-02,20.00,T2,\nC1,2025-03-02,5.00,T3,refund\n"
    )
    appended = run_import(tmp_path, "transactions", header + "C1,2024-12-01,7.00,T4,\n")

    assert services.import_summary(overlapping) == "1 new, 0 updated, 1 unchanged"
    assert services.import_summary(appended) == "1 new, 0 updated, 0 unchanged"
    customer.refresh_from_db()
    assert (customer.order_count, customer.lifetime_revenue) == (3, Decimal("32.00"))
    assert customer.first_purchase_at.date() == dt.date(2024, 11, 30)  # midnight in Berlin is 23:00 UTC
    assert customer.last_purchase_at.date() == dt.date(2025, 2, 1)
    # The add-only import keeps the annual value current too: 32.00 over a span under a year.
    assert customer.annual_value == Decimal("32.00")
