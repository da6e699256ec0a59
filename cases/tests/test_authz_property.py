"""AUTHZ-03: a property test over random ownerships. For 200 random deals of 500 cases over 20
account managers (owners, followers, the unassigned pool, open and closed), each manager sees
exactly the cases they own or follow and the open pool cases: cases.policy.visible_cases for
every manager in every example; can_view_case on every case for five managers in turn; and on
every other example one manager in turn fetches every page of the queue and of the pool and the
CSV export (each manager's pages ten times over the run; the whole file stays near a minute)."""

import csv
import datetime as dt
import io
import math
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases import policy
from cases.models import Case
from cases.queries import PAGE_SIZE
from customers.models import Customer
from winback.tests.factories import UserFactory

MANAGERS = 20
CASES = 500
POOL = MANAGERS  # the owner index meaning "nobody": the unassigned pool
CAN_VIEW_PER_EXAMPLE = 5  # managers per example (in turn) asked can_view_case about every case
DETAIL_LINK = re.compile(r'href="/cases/(\d+)/"')

# One case: (owner index or POOL, open?, follower indexes)
a_case = st.tuples(
    st.integers(0, POOL),
    st.booleans(),
    st.lists(st.integers(0, MANAGERS - 1), max_size=3, unique=True),
)
ownerships = st.lists(a_case, min_size=CASES, max_size=CASES)


@pytest.fixture
def world(db):
    """20 managers, 500 customers each with one case (re-dealt by every example), and signed-in
    clients for the managers whose pages are fetched."""
    managers = [UserFactory(username=f"am{n:02d}", role="Account managers") for n in range(MANAGERS)]
    customers = Customer.objects.bulk_create(
        Customer(external_id=f"P{n:04d}", name=f"Customer {n:04d}", email=f"p{n}@example.org", language="en")
        for n in range(CASES)
    )
    now = timezone.now()
    cases = Case.objects.bulk_create(
        Case(
            customer=customer,
            value_at_stake=Decimal(1000 + n % 97),
            first_contact_due=now,
            due_at=now,
            # Overdue and not, so the queue reads both of its slices.
            deadline_at=now + dt.timedelta(days=1 if n % 3 else -1),
        )
        for n, customer in enumerate(customers)
    )
    clients = []
    for manager in managers:
        client = Client()
        client.force_login(manager)
        clients.append(client)
    Case.followers.through.objects.bulk_create(
        Case.followers.through(case_id=case.pk, user_id=managers[n % MANAGERS].pk) for n, case in enumerate(cases)
    )
    with connection.cursor() as cursor:
        # Fresh statistics (the examples keep these sizes): after the suite's earlier flushes the
        # planner believed the tables empty and joined the 500 cases by nested loops over
        # sequential scans, seconds a query.
        cursor.execute("ANALYZE cases_case, cases_case_followers, customers_customer, auth_user, auth_user_groups")
    return {"managers": managers, "case_ids": [case.pk for case in cases], "clients": clients}


def build(world, drawn) -> list[Case]:
    """Deals the drawn owners, open/closed and followers to the 500 cases (one UPDATE, one
    DELETE and one INSERT of the followers)."""
    managers = world["managers"]
    rows = [
        (pk, managers[owner].pk if owner != POOL else None, is_open)
        for pk, (owner, is_open, _) in zip(world["case_ids"], drawn, strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE cases_case c SET owner_id = v.owner_id, is_open = v.is_open,"
            " stage = CASE WHEN v.is_open THEN 'contacting' ELSE 'lost' END"
            " FROM unnest(%s::bigint[], %s::int[], %s::bool[]) AS v(id, owner_id, is_open) WHERE c.id = v.id",
            [[r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]],
        )
        cursor.execute("DELETE FROM cases_case_followers")
    Case.followers.through.objects.bulk_create(
        Case.followers.through(case_id=pk, user_id=managers[index].pk)
        for pk, (_, _, followers) in zip(world["case_ids"], drawn, strict=True)
        for index in followers
    )
    return list(Case.objects.prefetch_related("followers").order_by("pk"))


def expected_for(index: int, cases: list[Case], drawn) -> set[int]:
    return {
        case.pk
        for case, (owner, is_open, followers) in zip(cases, drawn, strict=True)
        if owner == index or index in followers or (owner == POOL and is_open)
    }


def listed(client, url: str, expected_count: int) -> set[int]:
    """Every case linked from every page of a list. Extra rows would push expected ones off the
    pages read (or, after a full last page, show on the one more page read)."""
    ids: set[int] = set()
    pages = math.ceil(expected_count / PAGE_SIZE)
    if expected_count % PAGE_SIZE == 0:
        pages += 1  # a full last page: one more, where extra rows would be
    for number in range(1, pages + 1):
        response = client.get(url, {"page": number})
        assert response.status_code == 200
        ids |= {int(pk) for pk in DETAIL_LINK.findall(response.content.decode())}
    return ids


def exported(client) -> set[int]:
    response = client.get(reverse("cases:export", args=["csv"]))
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    return {int(row[0]) for row in rows[1:] if row}


def test_each_manager_sees_exactly_the_cases_they_own_or_follow_and_the_open_pool(world):
    results = {"examples": 0, "violations": 0, "pages": 0}

    @given(drawn=ownerships)
    @settings(
        deadline=None,
        max_examples=200,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )
    def check(drawn):
        violations = violations_in(world, drawn, example=results["examples"], results=results)
        results["examples"] += 1
        results["violations"] += violations
        assert violations == 0

    check()
    print(
        f"\nAUTHZ-03: examples={results['examples']}, violations={results['violations']}"
        f" (queue, pool and export checks: {results['pages']})"
    )
    assert results["examples"] >= 200
    assert results["pages"] > 0


def violations_in(world, drawn, *, example: int, results: dict) -> int:
    """visible_cases for every manager; can_view_case on every case for a few of them in turn;
    on every other example one manager's queue (all pages), pool (all pages) and CSV export."""
    cases = build(world, drawn)
    pool_ids = {case.pk for case in cases if case.is_open and case.owner_id is None}
    violations = 0
    for index, manager in enumerate(world["managers"]):
        expected = expected_for(index, cases, drawn)
        visible = set(policy.visible_cases(manager).values_list("pk", flat=True))
        violations += len(visible ^ expected)
        if (index - example) % MANAGERS < CAN_VIEW_PER_EXAMPLE:
            viewable = {case.pk for case in cases if policy.can_view_case(manager, case)}
            violations += len(viewable ^ expected)
    if example % 2 == 0:
        index = (example // 2) % MANAGERS
        client = world["clients"][index]
        # The queue and its export: the open cases the manager owns or follows.
        mine = {
            case.pk
            for case, (owner, is_open, followers) in zip(cases, drawn, strict=True)
            if is_open and (owner == index or index in followers)
        }
        queue = listed(client, reverse("cases:queue"), len(mine))
        pool = listed(client, reverse("cases:pool"), len(pool_ids))
        violations += len(queue ^ mine) + len(pool ^ pool_ids) + len(exported(client) ^ mine)
        results["pages"] += 3
    return violations
