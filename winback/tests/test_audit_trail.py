"""PRIV-07: the audit trail is complete (every change to cases, offers, tasks, activities and contact
preferences has a row with actor or task, UTC time, request or task id, before and after; bulk
updates included) and immutable (the application's role may only insert and read it)."""

import datetime as dt
import random
import time
from decimal import Decimal

import pytest
from celery import shared_task
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from cases import states
from cases.models import Activity, Case, Offer, Task
from cases.services import work
from cases.services.assignment import cases_bulk_reassign
from cases.services.opening import open_case
from cases.tests.factories import CaseFactory, TaskFactory
from customers.models import Customer
from customers.services.customers import customer_set_preferences
from customers.tests.factories import CustomerFactory
from winback.audit.middleware import AuditContextMiddleware
from winback.audit.models import Entry
from winback.audit.selectors import entries_for
from winback.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
OPERATIONS = 1000
PREFERENCES = ["email", "account_manager_id", "do_not_contact", "preferred_channel", "contact_notes"]


@shared_task(name="winback.tests.audit_operation")
def run_as_task(operation):  # applied eagerly: a real Celery trace, with its task_prerun signal
    return operation()


def _snapshot() -> dict[tuple[str, int], dict]:
    rows = {}
    for row in Case.objects.values():
        row.pop("updated_at")  # not recorded: it changes with every save
        rows["cases.case", row["id"]] = row
    for model, kind in ((Offer, "cases.offer"), (Task, "cases.task"), (Activity, "cases.activity")):
        for row in model.objects.values():
            rows[kind, row["id"]] = row
    for row in Customer.objects.values("id", *PREFERENCES):
        rows["customers.customer", row["id"]] = row
    return rows


def _changed(before: dict, after: dict) -> list[tuple[str, int, str, set[str]]]:
    changes = []
    for key in before.keys() | after.keys():
        old, new = before.get(key), after.get(key)
        if old is None:
            changes.append((*key, "insert", set()))
        elif new is None:
            changes.append((*key, "delete", set()))
        else:
            fields = {f for f in new if old.get(f) != new.get(f)}
            if fields:
                changes.append((*key, "update", fields))
    return changes


class Fuzz:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.managers = [UserFactory(role="Account managers") for _ in range(4)]
        self.admin = UserFactory(role="Administrators")
        self.cases = [CaseFactory(owner=self.rng.choice(self.managers)) for _ in range(24)]
        self.spare = [CustomerFactory(status="defected", account_manager=m) for m in self.managers * 3]

    def case(self) -> Case:
        return Case.objects.get(pk=self.rng.choice(self.cases).pk)

    def operation(self, actor):
        rng = self.rng
        name = rng.choice(
            ["open", "reassign", "move", "note", "offer", "task", "bulk", "preferences", "bulk_customers"]
        )
        if name == "open" and self.spare:
            customer = self.spare.pop()
            return name, lambda: self.cases.append(open_case(customer=customer, actor=actor))
        if name == "reassign":
            return name, lambda: work.reassign_case(
                case=self.case(), actor=actor, owner=rng.choice(self.managers), followers=[rng.choice(self.managers)]
            )
        if name == "move":
            case = self.case()
            targets = states.allowed_targets(case) or ["contacting"]
            return name, lambda: states.move(
                case, rng.choice(targets), actor=actor, note="fuzz note", reason="price", fault="ours"
            )
        if name == "note":
            return name, lambda: work.log_activity(case=self.case(), actor=actor, kind="call", notes="called")
        if name == "offer":
            return name, lambda: work.make_offer(
                case=self.case(),
                actor=actor,
                kind="discount",
                value=Decimal("10"),
                cost=Decimal("5"),
                expires_on=timezone.localdate() + dt.timedelta(days=14),
            )
        if name == "task":
            case = self.case()
            return name, lambda: work.add_task(
                case=case,
                actor=actor,
                title="Call back",
                assignee=case.owner or self.admin,
                due_on=timezone.localdate() + dt.timedelta(days=3),
            )
        if name == "bulk":
            ids = [c.pk for c in rng.sample(self.cases, 5)]
            owner = rng.choice(self.managers)
            if rng.random() < 0.5:
                return name, lambda: Case.objects.filter(pk__in=ids).update(owner=owner)  # queryset .update()
            return name, lambda: cases_bulk_reassign(case_ids=ids, owner=owner, actor=self.admin)
        if name == "bulk_customers":
            ids = [c.customer_id for c in rng.sample(self.cases, 4)]
            return name, lambda: Customer.objects.filter(pk__in=ids).update(do_not_contact=rng.random() < 0.5)
        customer = Customer.objects.get(pk=self.rng.choice(self.cases).customer_id)
        return "preferences", lambda: customer_set_preferences(
            customer=customer,
            actor=actor,
            do_not_contact=rng.random() < 0.3,
            preferred_channel=rng.choice(["email", "phone", ""]),
            contact_notes=f"note {rng.random():.4f}",
        )


def _through_a_request(operation, actor):
    request = RequestFactory().post("/fuzz/")
    request.user = actor
    response = AuditContextMiddleware(lambda req: _respond(operation))(request)
    return {"request_id": request.request_id, "actor_id": actor.pk, "response": response}


def _respond(operation):
    from django.http import HttpResponse

    try:
        with transaction.atomic():
            operation()
    except ValidationError:
        pass  # a refused move changes nothing; the snapshot checks that too
    return HttpResponse()


def _through_a_task(operation):
    result = run_as_task.apply(args=[lambda: _respond(operation)])
    return {"task_id": result.id, "actor_id": None}


def test_every_change_made_by_random_case_operations_has_an_audit_row():
    fuzz = Fuzz(seed=7)
    started = time.monotonic()
    missing, checked, kinds = [], 0, {}
    for _ in range(OPERATIONS):
        actor = fuzz.rng.choice([*fuzz.managers, fuzz.admin])
        name, operation = fuzz.operation(actor)
        before, last_id = _snapshot(), Entry.objects.order_by("-id").values_list("id", flat=True).first() or 0
        via_task = fuzz.rng.random() < 0.2
        expected = _through_a_task(operation) if via_task else _through_a_request(operation, actor)
        new = {}
        for entry in Entry.objects.filter(id__gt=last_id):
            new.setdefault((entry.kind, entry.object_id, entry.action), []).append(entry)
        for kind, object_id, action, fields in _changed(before, _snapshot()):
            checked += 1
            kinds[name] = kinds.get(name, 0) + 1
            rows = new.get((kind, object_id, action), [])
            recorded = set().union(*[set(row.after or {}) | set(row.before or {}) for row in rows])
            good = (
                rows
                and fields <= recorded
                and all(
                    row.actor_id == expected["actor_id"]
                    and row.request_id == expected.get("request_id", "")
                    and row.task_id == expected.get("task_id", "")
                    and row.created_at.utcoffset() == dt.timedelta(0)
                    and (row.before if action != "insert" else row.after)
                    for row in rows
                )
            )
            if not good:
                missing.append((name, kind, object_id, action, fields, recorded))
    rows = Entry.objects.count()
    print(
        f"\nPRIV-07 audit completeness: {OPERATIONS} operations, {checked} changed rows checked, "
        f"{rows} audit rows, missing {len(missing)}, {time.monotonic() - started:.1f} s; by operation {kinds}"
    )
    assert checked > OPERATIONS / 2
    assert not missing, missing[:5]


def _an_entry() -> Entry:
    customer = CustomerFactory(email="before@example.com")
    Customer.objects.filter(pk=customer.pk).update(email="after@example.com", contact_notes="Ring Ann Smith")
    return Entry.objects.get(kind="customers.customer", object_id=customer.pk)


def _attempts(role: str | None) -> dict[str, str]:
    """Each modification, in a savepoint, as `role` (None: the test's own superuser connection)."""
    outcomes = {}
    for name, sql in {
        "UPDATE": "UPDATE audit_entry SET after = '{}'::jsonb",
        "DELETE": "DELETE FROM audit_entry",
        "TRUNCATE": "TRUNCATE audit_entry",
    }.items():
        if role is None and name == "TRUNCATE":
            continue  # a superuser can disable any trigger; production's app role is not one
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                if role:
                    cursor.execute(f"SET LOCAL ROLE {role}")
                    # Forge the flag that winback_audit_pseudonymise() sets: not enough for a role that is
                    # not the function's owner. (The owner itself can drop any trigger; it is not the app.)
                    cursor.execute("SELECT set_config('winback.audit_rewrite', 'on', true)")
                cursor.execute(sql)
                cursor.execute("RESET ROLE")
            outcomes[name] = "allowed"
        except DatabaseError as error:
            outcomes[name] = f"refused: {str(error).splitlines()[0]}"
    return outcomes


@pytest.fixture
def app_role():
    """A role like production's application role: INSERT and SELECT on the audit table only."""
    names = ["winback_audit_probe", "winback_audit_misgranted"]
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(f"DROP ROLE IF EXISTS {name}")
            cursor.execute(f"CREATE ROLE {name} NOLOGIN")
            cursor.execute(f"GRANT USAGE ON SCHEMA public TO {name}")
            cursor.execute(f"GRANT SELECT, INSERT ON audit_entry TO {name}")
            cursor.execute(f"GRANT EXECUTE ON FUNCTION winback_audit_pseudonymise(text, bigint, text) TO {name}")
        cursor.execute(f"GRANT UPDATE, DELETE, TRUNCATE ON audit_entry TO {names[1]}")
    yield names
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(f"DROP OWNED BY {name}")
            cursor.execute(f"DROP ROLE {name}")


def test_the_application_role_cannot_update_delete_or_truncate_the_audit_trail(app_role):
    entry = _an_entry()
    probe, misgranted = app_role
    outcomes = {
        "insert+select role": _attempts(probe),
        "role wrongly granted UPDATE/DELETE/TRUNCATE": _attempts(misgranted),
        "table owner": _attempts(None),
    }
    allowed = [(who, what) for who, result in outcomes.items() for what, how in result.items() if how == "allowed"]
    print(f"\nPRIV-07 audit immutability: successful modifications {len(allowed)}; {outcomes}")
    assert allowed == []
    assert "append-only" in outcomes["role wrongly granted UPDATE/DELETE/TRUNCATE"]["TRUNCATE"]
    entry.refresh_from_db()
    assert entry.after == {"email": "after@example.com", "contact_notes": "Ring Ann Smith"}


def test_only_the_privileged_function_pseudonymises_a_customers_audit_rows(app_role):
    entry = _an_entry()
    other = CustomerFactory(email="keep@example.com")
    Customer.objects.filter(pk=other.pk).update(email="kept@example.com")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {app_role[0]}")
        cursor.execute("SELECT winback_audit_pseudonymise('customer', %s, 'erased')", [entry.customer_id])
        assert cursor.fetchone()[0] == 1
        cursor.execute("RESET ROLE")
    entry.refresh_from_db()
    assert entry.before == {"email": "erased", "contact_notes": "erased"}
    assert entry.after == {"email": "erased", "contact_notes": "erased"}
    assert Entry.objects.get(customer_id=other.pk).after == {"email": "kept@example.com"}
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT winback_audit_pseudonymise('user', 1, 'x')")


def test_the_django_admin_cannot_add_change_or_delete_audit_rows(admin_client):
    entry = _an_entry()
    change = reverse("admin:audit_entry_change", args=[entry.pk])
    assert admin_client.get(reverse("admin:audit_entry_changelist")).status_code == 200
    assert admin_client.post(change, {"kind": "x", "object_id": 1}).status_code == 403
    assert admin_client.get(reverse("admin:audit_entry_add")).status_code == 403
    assert admin_client.post(reverse("admin:audit_entry_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    entry.refresh_from_db()
    assert entry.kind == "customers.customer"


def test_a_celery_task_writes_its_task_id_and_a_request_its_user_and_request_id(client):
    administrator = UserFactory(role="Administrators", is_superuser=True)  # the cases admin needs model perms
    client.force_login(administrator)
    admin_client = client
    case = CaseFactory()
    run_as_task.apply(args=[lambda: Case.objects.filter(pk=case.pk).update(primary_reason="price")], task_id="t-42")
    task_entry = Entry.objects.get(kind="cases.case", object_id=case.pk, action="update")
    assert (task_entry.task_id, task_entry.actor_id, task_entry.context["task"]) == ("t-42", None, run_as_task.name)
    assert task_entry.before == {"primary_reason": ""}
    assert task_entry.after == {"primary_reason": "price"}
    response = admin_client.post(
        reverse("admin:auth_user_change", args=[case.owner_id]), {}, HTTP_X_REQUEST_ID="req-1"
    )  # an invalid admin form: nothing written, but the request id comes back
    assert response["X-Request-ID"] == "req-1"
    task = TaskFactory(case=case)
    admin_client.post(
        reverse("admin:cases_task_changelist"),
        {"action": "delete_selected", "_selected_action": [task.pk], "post": "yes"},
        HTTP_X_REQUEST_ID="req-2",
    )  # a Django admin action
    deleted = Entry.objects.get(kind="cases.task", object_id=task.pk, action="delete")
    assert (deleted.actor_id, deleted.request_id, deleted.case_id) == (administrator.pk, "req-2", case.pk)
    assert deleted.before["title"] == task.title


@pytest.mark.parametrize("role_user", ["manager", "executive"], indirect=True)
def test_only_administrators_may_open_the_audit_page(client, role_user):
    client.force_login(role_user)
    assert client.get(reverse("audit:list")).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in_from_the_audit_page(client):
    response = client.get(reverse("audit:list"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_the_audit_page_filters_newest_first_within_a_query_budget(
    admin_client, administrator, django_assert_max_num_queries
):
    cases = [CaseFactory() for _ in range(3)]
    for index, case in enumerate(cases):
        with transaction.atomic(), connection.cursor():
            from winback.audit.context import actor_context

            with actor_context(actor=administrator, request_id=f"r{index}"):
                Case.objects.filter(pk=case.pk).update(close_note=f"note {index}")
    with django_assert_max_num_queries(10):
        response = admin_client.get(reverse("audit:list"), {"kind": "cases.case", "actor": administrator.pk})
    entries = list(response.context["entries"])
    assert [entry.object_id for entry in entries] == [case.pk for case in reversed(cases)]
    assert "note 2" in response.content.decode()
    response = admin_client.get(reverse("audit:list"), {"object_id": cases[0].pk, "kind": "cases.case"})
    assert [entry.after for entry in response.context["entries"]][0] == {"close_note": "note 0"}
    today = timezone.localdate()
    response = admin_client.get(reverse("audit:list"), {"date_to": (today - dt.timedelta(days=1)).isoformat()})
    assert list(response.context["entries"]) == []


def test_the_case_page_and_the_customer_card_show_their_own_entries(
    client, admin_client, administrator, django_assert_max_num_queries
):
    case = CaseFactory()
    other = CaseFactory()
    request = RequestFactory().post("/")
    request.user = administrator
    AuditContextMiddleware(
        lambda req: _respond(
            lambda: work.log_activity(case=case, actor=administrator, kind="call", notes="Spoke to them")
        )
    )(request)
    customer_set_preferences(
        customer=case.customer,
        actor=administrator,
        do_not_contact=True,
        preferred_channel="phone",
        contact_notes="Mornings only",
    )
    Case.objects.filter(pk=other.pk).update(close_note="someone else")
    with django_assert_max_num_queries(2):
        entries = entries_for(case)
    assert {entry.kind for entry in entries} >= {"cases.activity", "cases.case"}
    assert entries[0].actor == administrator
    page = admin_client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert "Audit trail" in page
    assert "Spoke to them" in page
    assert "someone else" not in page
    card = admin_client.get(case.customer.get_absolute_url()).content.decode()
    assert "Audit trail" in card
    assert "Mornings only" in card
    client.force_login(case.owner)  # an account manager: no audit panel (administrators only)
    assert "Audit trail" not in client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert "Audit trail" not in client.get(case.customer.get_absolute_url()).content.decode()
