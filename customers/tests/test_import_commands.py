"""The import commands: import_customers, import_transactions and import_interactions."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from customers.models import Customer, ImportRun, Interaction, Transaction
from customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

HEADER = "customer_id,name,email\n"
GOOD = HEADER + "007,Anna Berg,anna@example.org\n008,Bob Dow,bob@example.org\n"
ONE_BAD = HEADER + "007,Anna Berg,anna@example.org\n008,Bob Dow,not-an-email\n009,Cleo Park,cleo@example.org\n"
BAD_EMAIL_LINE = 'line 3, column email: "not-an-email" is not an email address. [bad_email]'


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def write(tmp_path, content: str, name: str = "people.csv"):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def run(command: str, *args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(command, *[str(arg) for arg in args], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_customers_imports_a_file_and_says_what_changed(tmp_path):
    path = write(tmp_path, GOOD)

    out, err = run("import_customers", path)

    assert "Imported 2 rows: 2 new, 0 updated, 0 unchanged." in out
    assert err == ""
    assert sorted(Customer.objects.values_list("external_id", flat=True)) == ["007", "008"]
    recorded = ImportRun.objects.get()
    assert (recorded.source, recorded.started_by, recorded.status) == ("command", None, ImportRun.Status.DONE)
    assert not (tmp_path / "people.rejects.csv").exists()


def test_importing_the_same_file_again_changes_nothing_and_warns(tmp_path):
    path = write(tmp_path, GOOD)
    run("import_customers", path)

    out, _ = run("import_customers", path)

    assert "Imported 2 rows: 0 new, 0 updated, 2 unchanged." in out
    assert "The same file was already imported on" in out
    assert Customer.objects.count() == 2


def test_a_bad_file_is_refused_whole_with_its_problems_on_stderr_and_in_a_rejects_file(tmp_path):
    path = write(tmp_path, ONE_BAD)
    out, err = StringIO(), StringIO()

    with pytest.raises(CommandError, match="Nothing was imported: the file was rejected."):
        call_command("import_customers", str(path), stdout=out, stderr=err)

    assert BAD_EMAIL_LINE in err.getvalue()
    rejects = tmp_path / "people.rejects.csv"
    assert f"Every problem, with its line, is listed in {rejects}" in err.getvalue()
    assert rejects.read_text().splitlines() == [
        "line,column,code,message,value",
        '3,email,bad_email,"""not-an-email"" is not an email address.",not-an-email',
    ]
    assert "Imported" not in out.getvalue()
    assert Customer.objects.count() == 0
    assert ImportRun.objects.get().status == ImportRun.Status.REJECTED


def test_the_rejects_go_where_the_rejects_option_says(tmp_path):
    path = write(tmp_path, ONE_BAD)
    target = tmp_path / "out" / "problems.csv"
    target.parent.mkdir()

    with pytest.raises(CommandError):
        run("import_customers", path, "--rejects", target)

    assert "bad_email" in target.read_text()
    assert not (tmp_path / "people.rejects.csv").exists()


def test_a_file_that_is_not_utf8_is_reported_with_the_line_of_its_first_bad_character(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("customer_id,name,email\n1,Café Müller,cafe@example.org\n".encode("cp1252"))
    err = StringIO()

    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("import_customers", str(path), stdout=StringIO(), stderr=err)

    assert err.getvalue().startswith("line 2: The file is not UTF-8")
    assert "[not_utf8]" in err.getvalue()
    assert Customer.objects.count() == 0


def test_skip_invalid_imports_the_good_rows_and_writes_the_rejects(tmp_path):
    path = write(tmp_path, ONE_BAD)

    out, err = run("import_customers", path, "--skip-invalid")

    assert "Imported 3 rows: 2 new, 0 updated, 0 unchanged, 1 rejected." in out
    assert BAD_EMAIL_LINE in err
    assert "bad_email" in (tmp_path / "people.rejects.csv").read_text()
    assert sorted(Customer.objects.values_list("external_id", flat=True)) == ["007", "009"]


def test_a_dry_run_checks_and_writes_nothing(tmp_path):
    path = write(tmp_path, GOOD)

    out, err = run("import_customers", path, "--dry-run")

    assert "Checked 2 rows, nothing written. Importing would give: 2 new, 0 updated, 0 unchanged." in out
    assert err == ""
    assert Customer.objects.count() == 0
    assert ImportRun.objects.get().status == ImportRun.Status.CHECKED


def test_a_dry_run_with_skip_invalid_lists_the_problems_and_what_the_good_rows_would_give(tmp_path):
    path = write(tmp_path, ONE_BAD)

    out, err = run("import_customers", path, "--dry-run", "--skip-invalid")

    assert "Checked 3 rows, nothing written. Importing would give: 2 new, 0 updated, 0 unchanged, 1 rejected." in out
    assert BAD_EMAIL_LINE in err
    assert (tmp_path / "people.rejects.csv").is_file()
    assert Customer.objects.count() == 0


def test_only_the_first_fifty_problems_are_printed(tmp_path):
    rows = "".join(f"C{i},Name {i},broken-{i}\n" for i in range(60))
    path = write(tmp_path, HEADER + rows)
    err = StringIO()

    with pytest.raises(CommandError):
        call_command("import_customers", str(path), stdout=StringIO(), stderr=err)

    lines = err.getvalue().splitlines()
    assert sum(1 for line in lines if line.startswith("line ")) == 50
    assert "… and 10 more problems." in lines
    assert len((tmp_path / "people.rejects.csv").read_text().splitlines()) == 61


def test_a_missing_path_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        run("import_customers", tmp_path / "nowhere.csv")
    with pytest.raises(CommandError, match="No such file"):
        run("import_transactions", tmp_path)  # a folder is not a file either
    assert not ImportRun.objects.exists()


def test_import_transactions_imports_purchases_and_refunds_and_keeps_figures_current(tmp_path):
    customer = CustomerFactory(external_id="C1")
    path = write(
        tmp_path,
        "customer_id;occurred_at;amount;external_id;kind\nC1;2025-01-02;12,50;T1;\nC1;2025-01-05;2,50;T2;refund\n",
        name="tx.csv",
    )

    out, _ = run("import_transactions", path)

    assert "Imported 2 rows: 2 new, 0 updated, 0 unchanged." in out
    assert Transaction.objects.count() == 2
    customer.refresh_from_db()
    assert (customer.order_count, customer.lifetime_revenue) == (1, Decimal("10.00"))
    again, _ = run("import_transactions", path)
    assert "Imported 2 rows: 0 new, 0 updated, 2 unchanged." in again


def test_import_transactions_refuses_rows_of_unknown_customers(tmp_path):
    CustomerFactory(external_id="C1")
    path = write(tmp_path, "customer_id,occurred_at,amount\nC1,2025-01-02,10\nC404,2025-01-02,10\n", name="tx.csv")
    err = StringIO()

    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("import_transactions", str(path), stdout=StringIO(), stderr=err)

    assert 'line 3, column customer_id: No customer has the id "C404". [unknown_customer]' in err.getvalue()
    assert (tmp_path / "tx.rejects.csv").is_file()
    assert Transaction.objects.count() == 0


def test_import_interactions_imports_resolved_interactions(tmp_path, manager):
    CustomerFactory(external_id="C1")
    path = write(
        tmp_path,
        f"customer_id,occurred_at,kind,summary,channel,owner\nC1,2025-05-01T10:00,complaint,Parcel late,phone,"
        f"{manager.username}\n",
        name="interactions.csv",
    )

    out, _ = run("import_interactions", path)

    assert "Imported 1 rows: 1 new, 0 updated, 0 unchanged." in out
    interaction = Interaction.objects.get()
    assert (interaction.owner, interaction.status, interaction.created_by) == (manager, "resolved", None)


def test_unknown_columns_are_reported_as_a_warning(tmp_path):
    path = write(tmp_path, "customer_id,name,email,shoe_size\n1,Ann,ann@example.org,38\n")

    out, _ = run("import_customers", path)

    assert "Unknown columns were ignored: shoe_size." in out
    assert "Imported 1 rows: 1 new" in out
