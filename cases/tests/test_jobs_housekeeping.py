"""Case housekeeping: automatic opening by threshold, owners (account manager, round-robin, pool),
relapses, automatic win-backs and expired offers; a second run changes nothing."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from cases import states
from cases.models import Case, CaseEvent, CaseSettings, Offer, SegmentThreshold, Stage, Task
from cases.outcomes import with_outcomes
from cases.services.housekeeping import open_cases, run_housekeeping
from cases.tasks import case_housekeeping_task
from cases.tests.factories import CaseFactory, OfferFactory
from cases.workdays import add_working_days
from customers.models import Customer, DefectionEvent
from customers.tests.factories import CustomerFactory, SegmentFactory, TransactionFactory
from surveys.tests.factories import DefectionEventFactory
from winback.models import JobRun
from winback.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def defection(value="2400", *, manager=None, segment=None, relapse=False, annual_value=0) -> DefectionEvent:
    customer = CustomerFactory(
        status=Customer.Status.DEFECTED,
        account_manager=manager,
        annual_value=Decimal(annual_value),
        **({"segment": segment} if segment is not None else {}),
    )
    return DefectionEventFactory(customer=customer, lost_revenue=Decimal(value), relapse=relapse)


def settings(**fields) -> CaseSettings:
    current = CaseSettings.load()
    for name, value in fields.items():
        setattr(current, name, value)
    current.save()
    return current


def test_an_event_reaching_the_default_threshold_opens_a_case_for_the_account_manager():
    manager = UserFactory(role="Account managers")
    event = defection("1500", manager=manager)
    defection("999.99", manager=manager)

    summary = run_housekeeping()

    case = Case.objects.get()
    assert "opened 1 " in summary
    assert (case.customer_id, case.event_id, case.owner, case.stage, case.is_open) == (
        event.customer_id,
        event.pk,
        manager,
        Stage.NEW,
        True,
    )
    assert case.opened_by is None
    assert case.value_at_stake == Decimal("1500")
    assert case.first_contact_due == add_working_days(case.opened_at, 2)
    assert case.due_at == add_working_days(case.opened_at, 20)
    assert case.deadline_at == case.first_contact_due
    entry = case.history.get()
    assert (entry.kind, entry.actor, entry.after["owner"]) == (CaseEvent.Kind.OPENED, None, manager.pk)
    assert manager.get_full_name() in entry.summary


def test_a_segments_own_threshold_beats_the_default():
    vip = SegmentFactory(name="VIP")
    SegmentThreshold.objects.create(segment=vip, value_threshold=Decimal("5000"))
    small = SegmentFactory(name="Small")
    SegmentThreshold.objects.create(segment=small, value_threshold=Decimal("100"))
    settings(value_threshold=Decimal("1000"))
    below_vip = defection("4000", segment=vip)
    above_vip = defection("5000", segment=vip)
    above_small = defection("150", segment=small)
    default = defection("1000")  # the Retail segment has no threshold of its own

    run_housekeeping()

    opened = set(Case.objects.values_list("event_id", flat=True))
    assert opened == {above_vip.pk, above_small.pk, default.pk}
    assert below_vip.pk not in opened


def test_the_customers_annual_value_counts_when_the_event_has_no_lost_revenue():
    event = defection("0", annual_value="3000")
    run_housekeeping()
    assert Case.objects.get().event_id == event.pk
    assert Case.objects.get().value_at_stake == Decimal("3000")


def test_nothing_opens_automatically_when_the_setting_is_off():
    settings(open_automatically=False)
    defection("50000")
    assert "opened 0 " in run_housekeeping()
    assert not Case.objects.exists()


def test_a_second_run_opens_nothing_twice_and_skips_customers_with_an_open_case():
    events = [defection("2000") for _ in range(3)]
    existing = CaseFactory()  # its customer has an open case already; a second open event is left alone
    DefectionEvent.objects.filter(customer=existing.customer).update(status="closed")
    DefectionEventFactory(customer=existing.customer, lost_revenue=Decimal("9000"))

    run_housekeeping()
    run_housekeeping()

    assert Case.objects.filter(event__in=events).count() == 3
    assert Case.objects.filter(customer=existing.customer).count() == 1
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.OPENED).count() == 3


def test_customers_without_a_manager_go_round_robin_in_turn_when_it_is_on():
    first, second, third = (UserFactory(role="Account managers") for _ in range(3))
    UserFactory(role="Account managers", is_active=False)
    UserFactory(role="Executives")
    settings(round_robin=True, round_robin_last=second)
    events = [defection("2000") for _ in range(4)]

    run_housekeeping()

    owners = [Case.objects.get(event=event).owner for event in events]
    assert owners == [third, first, second, third]
    assert CaseSettings.load().round_robin_last == third

    more = defection("2000")
    run_housekeeping()
    assert Case.objects.get(event=more).owner == first


def test_an_inactive_account_manager_does_not_keep_the_case_and_without_round_robin_it_waits_in_the_pool():
    gone = UserFactory(role="Account managers", is_active=False)
    UserFactory(role="Account managers")
    event = defection("2000", manager=gone)

    run_housekeeping()

    case = Case.objects.get(event=event)
    assert case.owner is None
    assert "pool" in case.history.get().summary


def test_a_relapse_opens_a_new_case_linked_to_the_previous_one_whatever_the_threshold():
    previous = CaseFactory()
    states.move(previous, Stage.WON_BACK, actor=previous.owner, note="Bought again")
    DefectionEvent.objects.filter(customer=previous.customer).update(status="recovered")
    relapse = DefectionEventFactory(customer=previous.customer, lost_revenue=Decimal("10"), relapse=True)
    newcomer_relapse = defection("10", relapse=True)  # a relapse without a case before: the threshold applies

    run_housekeeping()

    case = Case.objects.get(event=relapse)
    assert (case.relapse, case.previous_case, case.owner) == (True, previous, previous.owner)
    assert "relapse" in case.history.get().summary
    assert not Case.objects.filter(event=newcomer_relapse).exists()


def test_a_relapse_reopens_work_even_when_cases_do_not_open_automatically():
    previous = CaseFactory(stage=Stage.LOST, is_open=False, deadline_at=None)
    DefectionEvent.objects.filter(customer=previous.customer).update(status="closed")
    settings(open_automatically=False)
    relapse = DefectionEventFactory(customer=previous.customer, relapse=True)
    run_housekeeping()
    assert Case.objects.get(event=relapse).previous_case == previous


def test_a_purchase_after_the_opening_wins_the_case_back_with_the_revenue_counted_from_it():
    case = CaseFactory(opened_at=timezone.now() - dt.timedelta(days=10))
    OfferFactory(case=case, status=Offer.Status.ACCEPTED, cost=Decimal("50"))
    TransactionFactory(customer=case.customer, occurred_at=case.opened_at - dt.timedelta(days=1), amount=999)
    bought = timezone.now() - dt.timedelta(days=3)
    TransactionFactory(customer=case.customer, occurred_at=bought, amount=Decimal("300"))
    TransactionFactory(customer=case.customer, occurred_at=bought + dt.timedelta(days=1), amount=Decimal("200"))
    Customer.objects.filter(pk=case.customer_id).update(last_purchase_at=bought + dt.timedelta(days=1))
    untouched = CaseFactory()

    assert "won back 1" in run_housekeeping()

    case = with_outcomes(Case.objects.filter(pk=case.pk)).get()
    assert (case.stage, case.is_open, case.won_back_at) == (Stage.WON_BACK, False, bought)
    assert case.recovered_revenue == Decimal("500")
    assert case.offer_cost == Decimal("50")
    assert case.close_note.startswith("Detection saw a purchase on ")
    entry = case.history.filter(kind=CaseEvent.Kind.STAGE).get()
    assert entry.actor is None
    assert case.tasks.filter(kind=Task.Kind.HEALTH_REVIEW).count() == 4
    assert Case.objects.get(pk=untouched.pk).is_open
    assert "won back 0" in run_housekeeping()


def test_a_recovered_defection_event_wins_the_case_back_at_its_recovery_time():
    case = CaseFactory()
    recovered_at = timezone.now() - dt.timedelta(hours=2)
    DefectionEvent.objects.filter(pk=case.event_id).update(status="recovered", recovered_at=recovered_at)
    run_housekeeping()
    case.refresh_from_db()
    assert (case.stage, case.won_back_at) == (Stage.WON_BACK, recovered_at)


def test_expired_offers_close_themselves_with_a_history_entry():
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    expired = OfferFactory(expires_on=yesterday)
    today = OfferFactory(expires_on=timezone.localdate())
    accepted = OfferFactory(expires_on=yesterday, status=Offer.Status.ACCEPTED)

    assert "offers expired 1" in run_housekeeping()
    assert "offers expired 0" in run_housekeeping()

    expired.refresh_from_db()
    assert expired.status == Offer.Status.EXPIRED
    assert Offer.objects.get(pk=today.pk).status == Offer.Status.OPEN
    assert Offer.objects.get(pk=accepted.pk).status == Offer.Status.ACCEPTED
    entry = CaseEvent.objects.get(case=expired.case, kind=CaseEvent.Kind.OFFER)
    assert entry.after == {"offer": expired.pk, "status": "expired"}
    assert not CaseEvent.objects.filter(case=today.case, kind=CaseEvent.Kind.OFFER).exists()


def test_the_task_runs_a_slot_once_and_after_each_detection_run_once():
    defection("2000")
    first = case_housekeeping_task.delay(detection_run_id=41).get()
    again = case_housekeeping_task.delay(detection_run_id=41).get()
    assert first.startswith("slot detection run 41: after detection run 41: ")
    assert again == "slot detection run 41 already claimed"
    hourly = case_housekeeping_task.delay().get()
    assert "opened 0" in hourly
    assert JobRun.objects.filter(job="case_housekeeping").count() == 2
    assert Case.objects.count() == 1


def test_the_beat_schedule_has_both_hourly_jobs():
    entries = {task.name: task for task in PeriodicTask.objects.filter(name__startswith="cases-")}
    assert entries["cases-housekeeping"].task == "cases.tasks.case_housekeeping_task"
    assert entries["cases-overdue-digest"].task == "cases.tasks.send_overdue_digests_task"
    assert all(entry.crontab.hour == "*" for entry in entries.values())


@pytest.mark.parametrize("plain", [False, True], ids=["postgresql-insert-select", "plain-bulk-create"])
def test_both_opening_paths_give_the_same_cases_owners_and_history(plain):
    own, first, second = (UserFactory(role="Account managers") for _ in range(3))
    settings(round_robin=True, round_robin_last=second)
    mine = defection("2000", manager=own)
    turns = [defection("2000") for _ in range(3)]
    previous = CaseFactory(owner=own, stage=Stage.LOST, is_open=False, deadline_at=None)
    DefectionEvent.objects.filter(customer=previous.customer).update(status="closed")
    relapse = DefectionEventFactory(customer=previous.customer, lost_revenue=Decimal("5"), relapse=True)
    now = timezone.now()

    assert open_cases(now=now, plain=plain) == (5, 1)
    assert open_cases(now=now, plain=plain) == (0, 0)

    cases = {case.event_id: case for case in Case.objects.filter(opened_at=now)}
    assert cases[mine.pk].owner == own
    assert [cases[event.pk].owner for event in turns] == [own, first, second]
    assert CaseSettings.load().round_robin_last == second
    assert (cases[relapse.pk].relapse, cases[relapse.pk].previous_case, cases[relapse.pk].owner) == (
        True,
        previous,
        own,
    )
    summaries = dict(
        CaseEvent.objects.filter(kind="opened", case__opened_at=now).values_list("case__event_id", "summary")
    )
    name = own.get_full_name()
    assert summaries[mine.pk] == f"Opened for {name}"
    assert summaries[relapse.pk] == f"Opened for {name} (relapse)"
    entry = CaseEvent.objects.get(case=cases[relapse.pk])
    assert entry.after == {"owner": own.pk, "stage": "new", "previous_case": previous.pk}
    assert all(case.deadline_at == add_working_days(now, 2) for case in cases.values())
