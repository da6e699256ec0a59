"""The rescue cycle: the highest-value open cases proposed, executives taking up to the limit
(10 by default, configurable), becoming owner with the manager as follower, the history, and
who may see and take."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from cases.models import CaseEvent, CaseSettings, RescuePick
from cases.services import rescue
from cases.tests.factories import CaseFactory
from winback.tests.factories import UserFactory


def _take(client, case):
    return client.post(reverse("cases:rescue_take", args=[case.pk]))


@pytest.mark.parametrize(
    ("day", "months", "start"),
    [
        (dt.date(2025, 7, 31), 1, dt.date(2025, 7, 1)),
        (dt.date(2025, 8, 15), 3, dt.date(2025, 7, 1)),
        (dt.date(2025, 2, 28), 12, dt.date(2025, 1, 1)),
        (dt.date(2025, 12, 1), 2, dt.date(2025, 11, 1)),
    ],
)
def test_a_cycle_starts_on_the_first_day_of_its_months(day, months, start):
    assert rescue.cycle_start(day, months) == start


def test_the_page_proposes_the_highest_value_open_cases_without_those_already_taken(
    executive_client, executive, django_assert_max_num_queries
):
    cases = [CaseFactory(value_at_stake=Decimal(value)) for value in (500, 9000, 100, 7000)]
    CaseFactory(value_at_stake=Decimal("99999"), stage="lost", is_open=False)
    taken = CaseFactory(value_at_stake=Decimal("88888"), rescued_by=UserFactory(role="Executives"))
    for _ in range(10):
        CaseFactory(value_at_stake=Decimal("1"))
    CaseSettings.load()
    with django_assert_max_num_queries(9):  # session, user, role, settings, picks, proposals, perms x2
        answer = executive_client.get(reverse("cases:rescue"))
    proposed = answer.context["candidates"]
    assert [case.pk for case in proposed[:4]] == [cases[1].pk, cases[3].pk, cases[0].pk, cases[2].pk]
    assert taken.pk not in [case.pk for case in proposed]
    assert "0 of 10 taken" in answer.content.decode()


def test_taking_a_case_makes_the_executive_owner_and_the_manager_a_follower(executive_client, executive):
    case = CaseFactory()
    manager = case.owner
    answer = _take(executive_client, case)
    assert answer["Location"] == reverse("cases:rescue")
    case.refresh_from_db()
    assert (case.owner, case.rescued_by) == (executive, executive)
    assert list(case.followers.all()) == [manager]
    pick = RescuePick.objects.get()
    assert (pick.executive, pick.previous_owner, pick.cycle_start) == (executive, manager, rescue.current_cycle())
    kinds = set(CaseEvent.objects.filter(case=case).values_list("kind", flat=True))
    assert {CaseEvent.Kind.RESCUE, CaseEvent.Kind.OWNER, CaseEvent.Kind.FOLLOWER} <= kinds
    owner_change = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.OWNER)
    assert (owner_change.before, owner_change.after, owner_change.actor) == (
        {"owner": manager.pk},
        {"owner": executive.pk},
        executive,
    )
    html = executive_client.get(reverse("cases:rescue")).content.decode()
    assert "1 of 10 taken" in html
    assert case.customer.name in html


def test_the_eleventh_case_is_refused(executive_client, executive):
    cases = [CaseFactory() for _ in range(11)]
    for case in cases[:10]:
        _take(executive_client, case)
    answer = executive_client.post(reverse("cases:rescue_take", args=[cases[10].pk]), follow=True)
    assert "You have taken 10 cases this cycle already" in answer.content.decode()
    cases[10].refresh_from_db()
    assert cases[10].rescued_by is None
    assert cases[10].owner != executive
    assert RescuePick.objects.filter(executive=executive).count() == 10


def test_the_limit_is_configurable_and_per_executive(executive_client, executive):
    settings = CaseSettings.load()
    settings.rescue_limit = 2
    settings.save()
    cases = [CaseFactory() for _ in range(4)]
    for case in cases[:3]:
        _take(executive_client, case)
    assert RescuePick.objects.filter(executive=executive).count() == 2
    other = UserFactory(role="Executives")
    executive_client.force_login(other)
    _take(executive_client, cases[3])
    assert RescuePick.objects.filter(executive=other).count() == 1


def test_last_cycles_picks_do_not_count_against_this_one(executive_client, executive):
    settings = CaseSettings.load()
    settings.rescue_limit = 1
    settings.save()
    old = CaseFactory()
    RescuePick.objects.create(cycle_start=rescue.current_cycle() - dt.timedelta(days=40), executive=executive, case=old)
    case = CaseFactory()
    _take(executive_client, case)
    case.refresh_from_db()
    assert case.rescued_by == executive


def test_a_case_taken_by_one_executive_cannot_be_taken_by_another(executive_client, executive):
    case = CaseFactory()
    _take(executive_client, case)
    other = UserFactory(role="Executives")
    executive_client.force_login(other)
    answer = executive_client.post(reverse("cases:rescue_take", args=[case.pk]), follow=True)
    assert "An executive has taken this case already." in answer.content.decode()
    case.refresh_from_db()
    assert case.owner == executive


def test_a_closed_case_cannot_be_rescued_and_an_unknown_one_is_a_404(executive_client):
    closed = CaseFactory(stage="lost", is_open=False)
    _take(executive_client, closed)
    closed.refresh_from_db()
    assert closed.rescued_by is None
    assert executive_client.post(reverse("cases:rescue_take", args=[999999])).status_code == 404


@pytest.mark.parametrize("who", ["manager", "other_manager", "administrator"])
def test_only_executives_take_cases_others_look(client, request, who):
    user = request.getfixturevalue(who)
    case = CaseFactory(owner=request.getfixturevalue("manager"))
    client.force_login(user)
    page = client.get(reverse("cases:rescue"))
    assert page.status_code == 200
    assert reverse("cases:rescue_take", args=[case.pk]) not in page.content.decode()
    assert _take(client, case).status_code == 403
    case.refresh_from_db()
    assert case.rescued_by is None
    assert not RescuePick.objects.exists()


def test_managers_see_only_the_proposals_they_may_see(manager_client, manager):
    mine = CaseFactory(owner=manager, value_at_stake=Decimal("10"))
    foreign = CaseFactory(value_at_stake=Decimal("50000"))
    proposed = manager_client.get(reverse("cases:rescue")).context["candidates"]
    assert [case.pk for case in proposed] == [mine.pk]
    assert foreign.customer.name not in manager_client.get(reverse("cases:rescue")).content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    case = CaseFactory()
    assert client.get(reverse("cases:rescue"))["Location"].startswith("/accounts/login/")
    assert client.post(reverse("cases:rescue_take", args=[case.pk]))["Location"].startswith("/accounts/login/")
    assert not RescuePick.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_takes_never_pass_the_limit(short_lived_db_connections):
    executive = UserFactory(role="Executives")
    settings = CaseSettings.load()
    settings.rescue_limit = 3
    settings.save()
    cases = [CaseFactory() for _ in range(8)]
    barrier = threading.Barrier(len(cases))
    errors = []

    def take(case):
        try:
            barrier.wait()
            rescue.rescue_take(case_id=case.pk, executive=executive)
        except Exception as error:  # noqa: BLE001 (the refusals are expected; counted below)
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=take, args=(case,)) for case in cases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert RescuePick.objects.filter(executive=executive).count() == 3
    assert len(errors) == 5
