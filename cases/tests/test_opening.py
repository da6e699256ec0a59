"""Opening a case by hand: the owner, the unassigned pool, round-robin turns, deadlines in working
days with holidays, one open case per customer; and the visibility policy's basic rules."""

import datetime as dt
import zoneinfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from cases import policy
from cases.models import Case, CaseEvent, CaseSettings, Holiday
from cases.services.opening import open_case
from cases.tests.factories import CaseFactory
from cases.workdays import add_working_days, working_days_between
from customers.tests.factories import CustomerFactory
from surveys.tests.factories import DefectionEventFactory
from winback.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def _at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=BERLIN)


def test_two_working_days_from_friday_end_on_tuesday_evening():
    due = add_working_days(_at("2026-11-20"), 2, holidays=set())
    assert timezone.localtime(due).date() == dt.date(2026, 11, 24)
    assert (timezone.localtime(due).hour, timezone.localtime(due).minute) == (23, 59)


def test_holidays_are_skipped():
    Holiday.objects.create(day=dt.date(2026, 12, 24), name="Christmas Eve")
    Holiday.objects.create(day=dt.date(2026, 12, 25), name="Christmas")
    due = add_working_days(_at("2026-12-23"), 2)
    assert timezone.localtime(due).date() == dt.date(2026, 12, 29)
    assert working_days_between(dt.date(2026, 12, 23), dt.date(2026, 12, 29)) == 2


def test_a_case_belongs_to_the_customers_account_manager_with_both_deadlines():
    manager = UserFactory(role="Account managers")
    customer = CustomerFactory(account_manager=manager, annual_value=5000)
    event = DefectionEventFactory(customer=customer, lost_revenue=4800)
    case = open_case(customer=customer, actor=manager, now=_at("2026-11-20"))
    assert case.owner == manager
    assert case.event == event
    assert case.value_at_stake == 4800
    assert timezone.localtime(case.first_contact_due).date() == dt.date(2026, 11, 24)
    assert timezone.localtime(case.due_at).date() == dt.date(2026, 12, 18)
    assert case.deadline_at == case.first_contact_due
    opened = CaseEvent.objects.get(case=case)
    assert opened.kind == CaseEvent.Kind.OPENED
    assert opened.actor == manager


def test_without_an_account_manager_the_case_waits_in_the_pool():
    case = open_case(customer=CustomerFactory(account_manager=None))
    assert case.owner is None
    assert "pool" in CaseEvent.objects.get(case=case).summary


def test_round_robin_gives_cases_to_active_managers_in_turn():
    settings = CaseSettings.load()
    settings.round_robin = True
    settings.save()
    first, second = UserFactory(role="Account managers"), UserFactory(role="Account managers")
    UserFactory(role="Account managers", is_active=False)
    owners = [open_case(customer=CustomerFactory(account_manager=None)).owner for _ in range(4)]
    assert owners == [first, second, first, second]


def test_a_second_open_case_for_the_same_customer_is_refused():
    case = CaseFactory()
    with pytest.raises(ValidationError):
        open_case(customer=case.customer)
    assert Case.objects.filter(customer=case.customer).count() == 1


def test_managers_see_their_own_followed_and_pool_cases_only():
    own = CaseFactory()
    manager = own.owner
    followed = CaseFactory(followers=[manager])
    pool = CaseFactory(owner=None)
    closed_pool = CaseFactory(owner=None, is_open=False, stage="lost")
    other = CaseFactory()
    visible = set(policy.visible_cases(manager))
    assert visible == {own, followed, pool}
    assert not policy.can_view_case(manager, other)
    assert not policy.can_view_case(manager, closed_pool)
    assert policy.can_work_case(manager, followed)
    assert not policy.can_work_case(manager, pool)
    assert policy.can_take_case(manager, pool)


def test_executives_see_every_case_and_work_only_the_ones_they_took():
    executive = UserFactory(role="Executives")
    case = CaseFactory()
    assert policy.can_view_case(executive, case)
    assert not policy.can_work_case(executive, case)
    taken = CaseFactory(owner=executive, rescued_by=executive)
    assert policy.can_work_case(executive, taken)
    assert set(policy.visible_cases(executive)) == {case, taken}


def test_deactivated_users_see_nothing():
    case = CaseFactory()
    case.owner.is_active = False
    case.owner.save()
    assert not policy.visible_cases(case.owner).exists()
    assert not policy.can_view_case(case.owner, case)
