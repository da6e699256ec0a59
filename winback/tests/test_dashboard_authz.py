"""AUTHZ-03 extended to the dashboard (issue 6): the same random deals of 500 cases over 20
account managers as cases/tests/test_authz_property.py (owners, followers, the unassigned pool,
open and closed; its world and dealing are reused), every manager holding the dashboard
permission. In every example one manager in turn reads every page of the "open cases" drill-down
(even examples) or its CSV (odd ones), and it must hold exactly the open cases that manager may
see (visible_cases: owned, followed, or in the pool; checked too) — each manager five times each
over the run."""

import csv
import io
import math
import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings

from cases import policy
from cases.tests.test_authz_property import MANAGERS, POOL, build, ownerships, world  # noqa: F401 (a fixture)
from winback.dashboard.drill_views import PAGE_SIZE

DRILL_LINK = re.compile(r'class="fw-semibold drill-case" href="/cases/(\d+)/"')


@pytest.fixture
def dashboard_world(world):  # noqa: F811 (the imported fixture)
    permission = Permission.objects.get(codename="view_dashboard")
    for manager in world["managers"]:
        manager.user_permissions.add(permission)
    return world


def now_query() -> dict:
    """The current month: "open cases" are the cases open now."""
    return {"period": "month", "month": timezone.localdate().strftime("%Y-%m")}


def drilled(client, expected_count: int) -> set[int]:
    """Every case on every page of the drill-down (one page more after a full last page, where
    extra rows would show)."""
    ids: set[int] = set()
    pages = max(math.ceil(expected_count / PAGE_SIZE), 1)
    if expected_count and expected_count % PAGE_SIZE == 0:
        pages += 1
    url = reverse("dashboard:drill", args=["cases_open"])
    for number in range(1, pages + 1):
        response = client.get(url, {**now_query(), "page": number})
        assert response.status_code == 200
        ids |= {int(pk) for pk in DRILL_LINK.findall(response.content.decode())}
    return ids


def exported(client) -> set[int]:
    response = client.get(reverse("dashboard:drill", args=["cases_open"]), {**now_query(), "format": "csv"})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    return {int(row[0]) for row in rows[1:] if row}


def test_authz03_the_dashboard_drill_down_shows_each_manager_exactly_the_cases_they_may_see(dashboard_world):
    dealt = dashboard_world
    results = {"examples": 0, "violations": 0, "requests": 0}

    @given(drawn=ownerships)
    @settings(
        deadline=None,
        max_examples=200,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )
    def check(drawn):
        cases = build(dealt, drawn)
        index = (results["examples"] // 2) % MANAGERS
        manager, client = dealt["managers"][index], dealt["clients"][index]
        expected = {
            case.pk
            for case, (owner, is_open, followers) in zip(cases, drawn, strict=True)
            if is_open and (owner in (index, POOL) or index in followers)
        }
        visible_open = set(policy.visible_cases(manager).filter(is_open=True).values_list("pk", flat=True))
        violations = len(visible_open ^ expected)
        if results["examples"] % 2 == 0:
            violations += len(drilled(client, len(expected)) ^ expected)
        else:
            violations += len(exported(client) ^ expected)
        results["requests"] += 1
        results["examples"] += 1
        results["violations"] += violations
        assert violations == 0

    check()
    print(
        f"\nAUTHZ-03 (dashboard drill-down): examples={results['examples']}, violations={results['violations']}"
        f" (drill-down and CSV checks: {results['requests']})"
    )
    assert results["examples"] >= 200
