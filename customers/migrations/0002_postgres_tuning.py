"""PostgreSQL-only tuning: trigram indexes so substring search by name, email and company uses
an index at a million customers, and a fillfactor that lets the nightly metric updates stay
in-page (HOT). SQLite (the embedded default) skips this."""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS customer_name_trgm ON customers_customer USING gin (upper(name) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS customer_email_trgm ON customers_customer USING gin (upper(email) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS customer_company_trgm ON customers_customer USING gin (upper(company) gin_trgm_ops)",
    "ALTER TABLE customers_customer SET (fillfactor = 70)",
]
BACKWARD = [
    "DROP INDEX IF EXISTS customer_name_trgm",
    "DROP INDEX IF EXISTS customer_email_trgm",
    "DROP INDEX IF EXISTS customer_company_trgm",
    "ALTER TABLE customers_customer RESET (fillfactor)",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
