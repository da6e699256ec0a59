"""Erasure's audit function also rewrites the rows filed under the customer's cases only (a
corrective action carries its source case, not the customer): its text may quote them."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION winback_audit_pseudonymise(subject_kind text, subject_id bigint, replacement text)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $fn$
DECLARE changed integer;
BEGIN
    IF subject_kind <> 'customer' THEN
        RAISE EXCEPTION 'unknown subject kind: %', subject_kind USING ERRCODE = '22023';
    END IF;
    PERFORM set_config('winback.audit_rewrite', 'on', true);
    UPDATE audit_entry
       SET before = winback_audit_scrub(before, replacement), after = winback_audit_scrub(after, replacement)
     WHERE customer_id = subject_id
        OR case_id IN (SELECT c.id FROM {case_table} c WHERE c.customer_id = subject_id);
    GET DIAGNOSTICS changed = ROW_COUNT;
    PERFORM set_config('winback.audit_rewrite', 'off', true);
    RETURN changed;
END
$fn$;
REVOKE ALL ON FUNCTION winback_audit_pseudonymise(text, bigint, text) FROM PUBLIC;
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        schema = cursor.fetchone()[0]
    case_table = schema_editor.quote_name(apps.get_model("cases", "Case")._meta.db_table)
    schema_editor.execute(FUNCTION.format(schema=schema_editor.quote_name(schema), case_table=case_table), params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_triggers"), ("cases", "0003_case_segment")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop, elidable=False)]
