"""Imports on the embedded default (local settings, a SQLite file), which writes through `OrmUpsert`
instead of PostgreSQL's set-based SQL: the commands run as real `manage.py` processes."""

import sqlite3
import subprocess
import sys

import pytest

from winback.tests.processes import ROOT, clean_env, run_manage

pytestmark = pytest.mark.integration

CUSTOMERS = (
    "customer_id,name,email,segment,language,do_not_contact\n"
    "007,Anna Berg,anna@example.org,Retail,pl,yes\n"
    "008,Bob Dow,bob@example.org,,,\n"
    "009,Cleo Park,cleo@example.org,retail,,\n"
)
# Anna's name changes and her empty optional cells keep what is stored; Bob stays as he is.
CUSTOMERS_AGAIN = "customer_id,name,email,segment,language,do_not_contact\n007,Anna Nowak,anna@example.org,,,\n"
CUSTOMERS_AGAIN += "008,Bob Dow,bob@example.org,,,\n"
TRANSACTIONS = (
    "customer_id;occurred_at;amount;external_id;kind\n"
    "007;2025-01-02;12,50;T1;purchase\n"
    "007;2025-02-02T10:00:00+01:00;-3,00;T2;refund\n"
    "007;2025-03-01 09:30;100;T3;\n"
    "008;2025-03-05;0,10;T4;\n"
    "008;2025-03-06;0,20;T5;\n"
)
INTERACTIONS = (
    "customer_id,occurred_at,kind,summary,channel\n"
    '007,2025-05-01T10:00,complaint,"Parcel late,\nagain",phone\n'
    "008,2025-05-02T10:00,Support request,Where is my order,\n"
)


@pytest.fixture
def embedded(tmp_path):
    env = clean_env(
        DJANGO_SETTINGS_MODULE="winback.settings.local",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        DJANGO_MEDIA_ROOT=str(tmp_path / "media"),
        WINBACK_CELERY_DATA_DIR=str(tmp_path / "celery"),
        WINBACK_EMAIL_DIR=str(tmp_path / "mail"),
    )
    run_manage("migrate", "--noinput", "-v0", env=env)
    return env


def write(tmp_path, name: str, content: str):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return str(path)


def query(tmp_path, sql: str, *params) -> list[tuple]:
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        return db.execute(sql, params).fetchall()


def customers(tmp_path) -> dict[str, tuple]:
    rows = query(
        tmp_path,
        "SELECT c.external_id, c.name, c.language, c.do_not_contact, g.name, c.order_count, "
        "round(c.lifetime_revenue, 2), c.first_purchase_at, c.last_purchase_at, c.updated_at "
        "FROM customers_customer c LEFT JOIN customers_segment g ON g.id = c.segment_id",
    )
    return {row[0]: row[1:] for row in rows}


def test_customers_transactions_and_interactions_import_and_reimport_on_sqlite(tmp_path, embedded):
    first = run_manage("import_customers", write(tmp_path, "customers.csv", CUSTOMERS), env=embedded)

    assert "Imported 3 rows: 3 new, 0 updated, 0 unchanged." in first.stdout
    assert "New segment created with the default detection settings: Retail." in first.stdout
    stored = customers(tmp_path)
    assert stored["007"][:4] == ("Anna Berg", "pl", 1, "Retail")
    assert stored["008"][:4] == ("Bob Dow", "en", 0, None)
    assert stored["009"][3] == "Retail"  # segment names match in any case
    assert query(tmp_path, "SELECT count(*) FROM customers_segment") == [(1,)]

    again = run_manage("import_customers", write(tmp_path, "customers2.csv", CUSTOMERS_AGAIN), env=embedded)

    assert "Imported 2 rows: 0 new, 1 updated, 1 unchanged." in again.stdout
    updated = customers(tmp_path)
    assert updated["007"][:4] == ("Anna Nowak", "pl", 1, "Retail")
    assert updated["007"][-1] > stored["007"][-1]  # an updated customer is marked as such
    assert updated["008"][-1] == stored["008"][-1]

    transactions = write(tmp_path, "transactions.csv", TRANSACTIONS)
    imported = run_manage("import_transactions", transactions, env=embedded)

    assert "Imported 5 rows: 5 new, 0 updated, 0 unchanged." in imported.stdout
    amounts = dict(query(tmp_path, "SELECT external_id, round(amount, 2) || ' ' || kind FROM customers_transaction"))
    assert amounts == {
        "T1": "12.5 purchase",
        "T2": "3.0 refund",
        "T3": "100.0 purchase",
        "T4": "0.1 purchase",
        "T5": "0.2 purchase",
    }
    figures = customers(tmp_path)
    # Purchases minus refunds; a date alone is midnight in Berlin, a time without offset is Berlin time.
    assert figures["007"][4:8] == (2, 109.5, "2025-01-01 23:00:00", "2025-03-01 08:30:00")
    assert figures["008"][4:6] == (2, 0.3)
    assert figures["009"][4:6] == (0, 0)

    same = run_manage("import_transactions", transactions, env=embedded)

    assert "Imported 5 rows: 0 new, 0 updated, 5 unchanged." in same.stdout
    assert "The same file was already imported" in same.stdout
    assert query(tmp_path, "SELECT count(*) FROM customers_transaction") == [(5,)]

    changed = run_manage(
        "import_transactions", write(tmp_path, "changed.csv", TRANSACTIONS.replace(";100;", ";90;")), env=embedded
    )

    assert "Imported 5 rows: 0 new, 1 updated, 4 unchanged." in changed.stdout
    assert customers(tmp_path)["007"][4:6] == (2, 99.5)

    interactions = write(tmp_path, "interactions.csv", INTERACTIONS)
    logged = run_manage("import_interactions", interactions, env=embedded)
    logged_again = run_manage("import_interactions", interactions, env=embedded)

    assert "Imported 2 rows: 2 new, 0 updated, 0 unchanged." in logged.stdout
    assert "Imported 2 rows: 0 new, 0 updated, 2 unchanged." in logged_again.stdout
    assert sorted(query(tmp_path, "SELECT kind, channel, status, summary FROM customers_interaction")) == [
        ("complaint", "phone", "resolved", "Parcel late,\nagain"),
        ("support_request", "other", "resolved", "Where is my order"),
    ]


def test_a_bad_file_on_sqlite_exits_non_zero_and_writes_nothing(tmp_path, embedded):
    run_manage("import_customers", write(tmp_path, "customers.csv", CUSTOMERS), env=embedded)
    bad = write(
        tmp_path,
        "bad.csv",
        "customer_id,occurred_at,amount,external_id\n007,2025-01-02,10.00,T1\nC404,2025-01-02,5.00,T2\n"
        "008,2025-01-03,7.00,T3\n008,2025-01-04,8.00,T3\n",
    )

    refused = subprocess.run(
        [sys.executable, "manage.py", "import_transactions", bad],
        cwd=ROOT,
        env=embedded,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert refused.returncode != 0
    assert "Nothing was imported: the file was rejected." in refused.stderr
    assert 'line 3, column customer_id: No customer has the id "C404". [unknown_customer]' in refused.stderr
    assert "line 5, column external_id: The same transaction id appears 2 times" in refused.stderr
    assert (tmp_path / "bad.rejects.csv").is_file()
    assert query(tmp_path, "SELECT count(*) FROM customers_transaction") == [(0,)]
    assert query(tmp_path, "SELECT sum(order_count) FROM customers_customer") == [(0,)]
    assert query(tmp_path, "SELECT status FROM customers_importrun ORDER BY id DESC LIMIT 1") == [("rejected",)]
    assert query(tmp_path, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'import_stage_%'") == [(0,)]

    checked = run_manage("import_transactions", bad, "--dry-run", "--skip-invalid", env=embedded)

    assert "Checked 4 rows, nothing written. Importing would give: 1 new, 0 updated, 0 unchanged, 3 rejected." in (
        checked.stdout
    )
    assert query(tmp_path, "SELECT count(*) FROM customers_transaction") == [(0,)]

    skipped = run_manage("import_transactions", bad, "--skip-invalid", env=embedded)

    assert "Imported 4 rows: 1 new, 0 updated, 0 unchanged, 3 rejected." in skipped.stdout
    assert query(tmp_path, "SELECT external_id FROM customers_transaction") == [("T1",)]
    assert customers(tmp_path)["007"][4:6] == (1, 10)
