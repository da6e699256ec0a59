"""PostgreSQL triggers that write the audit trail, the guard that makes it append-only, and the
one privileged function allowed to rewrite it (erasure). No-op on other databases (SQLite: the
embedded default records nothing). docs/audit.md describes the roles in production."""

from django.db import migrations

# (app, model or "model.m2m_field", object column, case column, customer column ("@case": the
# case's customer), columns recorded (None: all), columns ignored, columns masked)
TRACKED = [
    (
        "customers",
        "Customer",
        "id",
        "",
        "id",
        ["email", "account_manager_id", "do_not_contact", "preferred_channel", "contact_notes", "survey_opt_out_at"],
        [],
        [],
    ),
    ("cases", "Case", "id", "id", "customer_id", None, ["updated_at"], []),
    ("cases", "Case.followers", "case_id", "case_id", "@case", None, [], []),
    ("cases", "Offer", "id", "case_id", "@case", None, [], []),
    ("cases", "Task", "id", "case_id", "@case", None, [], []),
    ("cases", "Activity", "id", "case_id", "@case", None, [], []),
    ("cases", "CorrectiveAction", "id", "source_case_id", "", None, ["updated_at"], []),
    ("cases", "CaseSettings", "id", "", "", None, ["updated_at"], []),
    ("surveys", "Survey", "id", "", "", None, ["updated_at"], []),
    ("surveys", "Question", "id", "", "", None, ["updated_at"], []),
    ("surveys", "Option", "id", "", "", None, ["updated_at"], []),
    ("surveys", "EmailTemplate", "id", "", "", None, ["updated_at"], []),
    ("surveys", "SurveySettings", "id", "", "", None, ["updated_at"], []),
    ("auth", "User", "id", "", "", None, ["last_login"], ["password"]),
    ("auth", "User.groups", "user_id", "", "", None, [], []),
]

# Strings under these keys survive pseudonymisation (states and times, not personal data).
KEPT_KEYS = [
    "stage",
    "status",
    "kind",
    "fault",
    "primary_reason",
    "reason",
    "preferred_channel",
    "email_status",
    "language",
    "action",
]

RECORD = """
CREATE OR REPLACE FUNCTION winback_audit_record() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    tracked text[] := string_to_array(NULLIF(TG_ARGV[4], ''), ',');
    ignored text[] := coalesce(string_to_array(NULLIF(TG_ARGV[5], ''), ','), '{}');
    masked text[] := coalesce(string_to_array(NULLIF(TG_ARGV[6], ''), ','), '{}');
    old_row jsonb; new_row jsonb; one_row jsonb; before_values jsonb; after_values jsonb;
    meta jsonb; case_ref bigint; customer_ref bigint;
BEGIN
    IF TG_OP <> 'INSERT' THEN old_row := to_jsonb(OLD); END IF;
    IF TG_OP <> 'DELETE' THEN new_row := to_jsonb(NEW); END IF;
    one_row := coalesce(new_row, old_row);
    IF TG_OP = 'UPDATE' THEN
        SELECT jsonb_object_agg(n.key, CASE WHEN n.key = ANY(masked) THEN '"***"'::jsonb ELSE o.value END),
               jsonb_object_agg(n.key, CASE WHEN n.key = ANY(masked) THEN '"***"'::jsonb ELSE n.value END)
          INTO before_values, after_values
          FROM jsonb_each(new_row) n JOIN jsonb_each(old_row) o ON o.key = n.key
         WHERE n.value IS DISTINCT FROM o.value AND NOT n.key = ANY(ignored)
           AND (tracked IS NULL OR n.key = ANY(tracked));
        IF after_values IS NULL THEN RETURN NULL; END IF;  -- nothing recorded changed
    ELSE
        SELECT jsonb_object_agg(e.key, CASE WHEN e.key = ANY(masked) THEN '"***"'::jsonb ELSE e.value END)
          INTO one_row FROM jsonb_each(one_row) e
         WHERE NOT e.key = ANY(ignored) AND (tracked IS NULL OR e.key = ANY(tracked) OR e.key = TG_ARGV[1]);
        IF TG_OP = 'INSERT' THEN after_values := one_row; ELSE before_values := one_row; END IF;
        one_row := coalesce(new_row, old_row);
    END IF;
    IF TG_ARGV[2] <> '' THEN case_ref := (one_row->>TG_ARGV[2])::bigint; END IF;
    IF TG_ARGV[3] = '@case' THEN
        SELECT c.customer_id INTO customer_ref FROM {case_table} c WHERE c.id = case_ref;
    ELSIF TG_ARGV[3] <> '' THEN
        customer_ref := (one_row->>TG_ARGV[3])::bigint;
    END IF;
    meta := NULLIF(current_setting('pghistory.context_metadata', true), '')::jsonb;
    INSERT INTO audit_entry (created_at, kind, action, object_id, case_id, customer_id, actor_id, request_id,
                             task_id, context_id, context, before, after)
    VALUES (statement_timestamp(), TG_ARGV[0], lower(TG_OP), (one_row->>TG_ARGV[1])::bigint, case_ref, customer_ref,
            NULLIF(meta->>'user', '')::bigint, left(coalesce(meta->>'request_id', ''), 64),
            left(coalesce(meta->>'task_id', ''), 64),
            NULLIF(current_setting('pghistory.context_id', true), '')::uuid, meta - 'user', before_values, after_values);
    RETURN NULL;
END
$fn$;
"""

GUARD = """
CREATE OR REPLACE FUNCTION winback_audit_guard() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        -- A superuser can switch any trigger off anyway; letting it truncate keeps test flushes working.
        IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN RETURN NULL; END IF;
    ELSIF TG_OP = 'UPDATE' AND current_setting('winback.audit_rewrite', true) = 'on'
          AND current_user = (SELECT pg_get_userbyid(p.proowner) FROM pg_proc p
                               WHERE p.proname = 'winback_audit_pseudonymise' LIMIT 1) THEN
        RETURN NEW;  -- inside winback_audit_pseudonymise(), running as its owner
    END IF;
    RAISE EXCEPTION 'audit entries are append-only: % refused', TG_OP USING ERRCODE = '42501';
END
$fn$;
DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry;
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry
    FOR EACH ROW EXECUTE FUNCTION winback_audit_guard();
DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_entry;
CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry
    FOR EACH STATEMENT EXECUTE FUNCTION winback_audit_guard();
"""

PSEUDONYMISE = """
CREATE OR REPLACE FUNCTION winback_audit_scrub(data jsonb, replacement text) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $fn$
    SELECT CASE WHEN data IS NULL OR jsonb_typeof(data) <> 'object' THEN data ELSE (
        SELECT coalesce(jsonb_object_agg(e.key, CASE
            WHEN jsonb_typeof(e.value) = 'string' AND e.key NOT LIKE '%\\_at' AND e.key NOT LIKE '%\\_on'
                 AND NOT e.key = ANY({kept}) THEN to_jsonb(replacement)
            ELSE e.value END), '{{}}'::jsonb)
        FROM jsonb_each(data) e) END
$fn$;
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
     WHERE customer_id = subject_id;
    GET DIAGNOSTICS changed = ROW_COUNT;
    PERFORM set_config('winback.audit_rewrite', 'off', true);
    RETURN changed;
END
$fn$;
REVOKE ALL ON FUNCTION winback_audit_pseudonymise(text, bigint, text) FROM PUBLIC;
"""


def _table_of(apps, app_label: str, name: str) -> str:
    model_name, _, m2m = name.partition(".")
    model = apps.get_model(app_label, model_name)
    if m2m:
        model = model._meta.get_field(m2m).remote_field.through
    return model._meta.db_table


def _kind_of(app_label: str, name: str) -> str:
    model_name, _, m2m = name.partition(".")
    return f"{app_label}.{model_name.lower()}" + (f"_{m2m}" if m2m else "")


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    qn = schema_editor.quote_name
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        schema = cursor.fetchone()[0]
    case_table = qn(_table_of(apps, "cases", "Case"))
    schema_editor.execute(RECORD.replace("{case_table}", case_table), params=None)
    schema_editor.execute(GUARD, params=None)
    kept = "ARRAY[" + ", ".join(_quote(key) for key in KEPT_KEYS) + "]"
    schema_editor.execute(PSEUDONYMISE.format(kept=kept, schema=qn(schema)), params=None)
    for app_label, name, object_col, case_col, customer_col, tracked, ignored, masked in TRACKED:
        table = _table_of(apps, app_label, name)
        args = ", ".join(
            _quote(value)
            for value in (
                _kind_of(app_label, name),
                object_col,
                case_col,
                customer_col,
                ",".join(tracked or []),
                ",".join(ignored),
                ",".join(masked),
            )
        )
        trigger = qn(f"winback_audit_{table}"[:63])
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {qn(table)}")
        if tracked:  # only some columns: skip the function call when none of them changed
            columns = ", ".join(qn(column) for column in tracked)
            old = ", ".join(f"OLD.{qn(column)}" for column in tracked)
            new = ", ".join(f"NEW.{qn(column)}" for column in tracked)
            schema_editor.execute(
                f"CREATE TRIGGER {trigger} AFTER UPDATE OF {columns} ON {qn(table)} FOR EACH ROW "
                f"WHEN (({old}) IS DISTINCT FROM ({new})) EXECUTE FUNCTION winback_audit_record({args})"
            )
            deleted = qn(f"winback_audit_del_{table}"[:63])
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {deleted} ON {qn(table)}")
            schema_editor.execute(
                f"CREATE TRIGGER {deleted} AFTER DELETE ON {qn(table)} FOR EACH ROW "
                f"EXECUTE FUNCTION winback_audit_record({args})"
            )
        else:
            schema_editor.execute(
                f"CREATE TRIGGER {trigger} AFTER INSERT OR UPDATE OR DELETE ON {qn(table)} FOR EACH ROW "
                f"EXECUTE FUNCTION winback_audit_record({args})"
            )


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    qn = schema_editor.quote_name
    for app_label, name, *_rest in TRACKED:
        table = _table_of(apps, app_label, name)
        for prefix in ("winback_audit_", "winback_audit_del_"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {qn((prefix + table)[:63])} ON {qn(table)}")
    schema_editor.execute("DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry")
    schema_editor.execute("DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_entry")
    schema_editor.execute("DROP FUNCTION IF EXISTS winback_audit_pseudonymise(text, bigint, text)")
    schema_editor.execute("DROP FUNCTION IF EXISTS winback_audit_scrub(jsonb, text)")
    schema_editor.execute("DROP FUNCTION IF EXISTS winback_audit_guard()")
    schema_editor.execute("DROP FUNCTION IF EXISTS winback_audit_record()")


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("customers", "0011_write_fewer_indexes"),
        ("cases", "0003_case_segment"),
        ("surveys", "0005_invitation_sent_index"),
    ]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
