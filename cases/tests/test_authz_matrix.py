"""AUTHZ-01 and AUTHZ-02: every URL of the cases app × GET and POST × every role, compared with the
checked-in expectation table below; a URL without a row fails the meta-test. The objects in each
URL belong to the role's relation: the owner's case for "owner", the case a manager follows for
"follower", someone else's case for "other_manager" (IDOR by guessed ids: 404 everywhere), the
case the executive took in a rescue cycle for "taker".

Classes: ok (served: 200, a redirect that is not to sign-in, or 400 with form errors), login
(redirect to sign-in), 403, 404, 405. Executives change nothing (403) except working the case they
took and taking rescue cases (RELIABILITY.md AUTHZ-01)."""

import datetime as dt

import pytest
from django.urls import URLPattern, get_resolver, reverse
from django.utils import timezone

from cases.models import Case, CaseEvent, Holiday, Offer, Task
from cases.tests.factories import CaseFactory, CorrectiveActionFactory, OfferFactory, TaskFactory
from customers.tests.factories import CustomerFactory
from winback.tests.factories import UserFactory

ROLES = ["anonymous", "owner", "follower", "other_manager", "executive", "taker", "administrator", "deactivated"]

# GET/POST class per role, in ROLES order. A method a view does not serve is refused (405) before
# sign-in is asked for; nothing is revealed either way.
ALL_READ = "login/405 ok/405 ok/405 ok/405 ok/405 ok/405 ok/405 login/405"
WORK = "login/login ok/ok ok/ok 404/404 403/403 ok/ok ok/ok login/login"
ADMIN_ONLY = "login/login 403/403 403/403 403/403 403/403 403/403 ok/ok login/login"
EXPECTED = {
    "queue": ALL_READ,
    "pool": ALL_READ,
    "board": ALL_READ,
    "my_tasks": ALL_READ,
    "export": ALL_READ,
    "actions": ALL_READ,
    "actions_export": ALL_READ,
    "outcomes": ALL_READ,
    "rescue": ALL_READ,
    "action_detail": ALL_READ,
    "detail": "login/405 ok/405 ok/405 404/405 ok/405 ok/405 ok/405 login/405",
    # GET: the card's move form for htmx; a browser without JavaScript goes to the case page's form.
    "board_move": "login/login ok/ok ok/ok 404/404 403/403 ok/ok ok/ok login/login",
    "log": WORK,
    "email": WORK,
    "offer_new": WORK,
    "offer_decide": WORK,
    "task_new": WORK,
    "task_done": WORK,
    "care_review": WORK,
    "move": WORK,
    "reason": WORK,
    # Taking a case someone owns answers "already taken" and changes nothing (test_lists_*).
    "take": "405/login 405/ok 405/ok 405/404 405/403 405/403 405/403 405/login",
    "reassign": "login/login 403/403 403/403 404/404 403/403 403/403 ok/ok login/login",
    "bulk_reassign": "405/login 405/403 405/403 405/403 405/403 405/403 405/ok 405/login",
    "settings": ADMIN_ONLY,
    "settings_holiday_remove": "405/login 405/403 405/403 405/403 405/403 405/403 405/ok 405/login",
    "open_for_customer": "405/login 405/ok 405/ok 405/ok 405/403 405/403 405/ok 405/login",
    "rescue_take": "405/login 405/403 405/403 405/403 405/ok 405/ok 405/403 405/login",
    "action_new": "login/login ok/ok ok/ok ok/ok 403/403 403/403 ok/ok login/login",
    "action_edit": "login/login ok/ok 403/403 403/403 403/403 403/403 ok/ok login/login",
    "action_loop": "login/login ok/ok 403/403 403/403 403/403 403/403 ok/ok login/login",
}


def _cases_patterns():
    for entry in get_resolver().url_patterns:
        if getattr(entry, "namespace", None) == "cases":
            return [p for p in entry.url_patterns if isinstance(p, URLPattern)]
    return []


NAMES = sorted(p.name for p in _cases_patterns())


def test_every_cases_url_has_a_row_in_the_expectation_table():
    covered = len(set(NAMES) & set(EXPECTED))
    print(f"AUTHZ-01: endpoints covered {covered}/{len(NAMES)} × {len(ROLES)} roles × GET, POST")
    assert set(NAMES) == set(EXPECTED), {"missing": set(NAMES) - set(EXPECTED), "stale": set(EXPECTED) - set(NAMES)}


@pytest.fixture
def world(db):
    users = {
        "owner": UserFactory(role="Account managers"),
        "follower": UserFactory(role="Account managers"),
        "other_manager": UserFactory(role="Account managers"),
        "executive": UserFactory(role="Executives"),
        "taker": UserFactory(role="Executives"),
        "administrator": UserFactory(role="Administrators"),
        "deactivated": UserFactory(role="Account managers", is_active=False),
    }
    case = CaseFactory(owner=users["owner"], followers=[users["follower"], users["deactivated"]], value_at_stake=9000)
    taken = CaseFactory(owner=users["taker"], rescued_by=users["taker"], followers=[users["owner"]])
    objects = {}
    for key, target in (("mine", case), ("taken", taken)):
        objects[key] = {
            "case": target,
            "offer": OfferFactory(case=target, created_by=users["owner"]),
            "task": TaskFactory(case=target, assignee=target.owner, created_by=users["owner"]),
            "review": TaskFactory(case=target, kind=Task.Kind.HEALTH_REVIEW, assignee=target.owner),
        }
    action = CorrectiveActionFactory(owner=users["owner"], created_by=users["owner"])
    holiday = Holiday.objects.create(day=timezone.localdate() + dt.timedelta(days=40), name="Holiday")
    customer = CustomerFactory(account_manager=users["owner"])
    return {"users": users, "objects": objects, "action": action, "holiday": holiday, "customer": customer}


def _url(name: str, role: str, world) -> str:
    objects = world["objects"]["taken" if role == "taker" else "mine"]
    kwargs_by_name = {
        "offer_decide": {"pk": objects["offer"].pk},
        "task_done": {"pk": objects["task"].pk},
        "care_review": {"pk": objects["review"].pk},
        "action_detail": {"pk": world["action"].pk},
        "action_edit": {"pk": world["action"].pk},
        "action_loop": {"pk": world["action"].pk},
        "settings_holiday_remove": {"pk": world["holiday"].pk},
        "open_for_customer": {"customer_pk": world["customer"].pk},
        "export": {"fmt": "csv"},
        "actions_export": {"fmt": "csv"},
    }
    pattern = next(p for p in _cases_patterns() if p.name == name)
    if name in kwargs_by_name:
        kwargs = kwargs_by_name[name]
    elif "<int:pk>" in str(pattern.pattern):
        kwargs = {"pk": objects["case"].pk}
    else:
        kwargs = {}
    return reverse(f"cases:{name}", kwargs=kwargs)


def classify(response) -> str:
    status = response.status_code
    if status in (301, 302):
        return "login" if response["Location"].startswith("/accounts/login/") else "ok"
    if status in (200, 400):
        return "ok"
    return str(status)


def _snapshot():
    return (
        list(Case.objects.order_by("pk").values_list("pk", "stage", "owner_id", "is_open", "primary_reason")),
        CaseEvent.objects.count(),
        list(Offer.objects.order_by("pk").values_list("pk", "status")),
        list(Task.objects.order_by("pk").values_list("pk", "done_at")),
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", NAMES)
def test_each_role_gets_the_expected_answer_and_denied_requests_change_nothing(client, world, name, role):
    if role != "anonymous":
        client.force_login(world["users"][role])
    url = _url(name, role, world)
    expected_get, expected_post = EXPECTED[name].split()[ROLES.index(role)].split("/")
    got_get = classify(client.get(url))
    before = _snapshot()
    got_post = classify(client.post(url, {}))
    if got_post in ("login", "403", "404", "405") or name == "take":
        assert _snapshot() == before, f"{name} changed data for {role} although refused"
    assert (got_get, got_post) == (expected_get, expected_post), (name, role, url)


def test_a_manager_guessing_ids_of_another_managers_case_gets_404_on_every_path(client, world):
    """AUTHZ-02: every case-bound URL answers 404 to a manager who may not see the case, and
    list filters naming the other manager return none of their rows."""
    intruder = world["users"]["other_manager"]
    client.force_login(intruder)
    attempts = leaks = 0
    for name in NAMES:
        url = _url(name, "owner", world)
        pattern = str(next(p for p in _cases_patterns() if p.name == name).pattern)
        if "<int:pk>" not in pattern or name.startswith(("action", "settings", "rescue")):
            continue
        for method in (client.get, client.post):
            attempts += 1
            status = method(url, {}).status_code
            if status not in (404, 405):
                leaks += 1
    owner_pk = world["users"]["owner"].pk
    case_pk = world["objects"]["mine"]["case"].pk
    for url in (f"/cases/?owner={owner_pk}", f"/cases/board/?owner={owner_pk}", f"/cases/export/csv/?owner={owner_pk}"):
        attempts += 1
        body = b"".join(client.get(url).streaming_content) if "export" in url else client.get(url).content
        if f"/cases/{case_pk}/".encode() in body or world["objects"]["mine"]["case"].customer.name.encode() in body:
            leaks += 1
    print(f"AUTHZ-02: attempts={attempts}, leaks={leaks}")
    assert attempts > 20
    assert leaks == 0
