"""The demo's win-back cases (`seed_case_demo`, run by `make run` after `seed_survey_demo`)."""

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import call_command

from cases.models import Activity, Case, CaseEvent, CorrectiveAction, Offer, RescuePick, Stage, Task
from cases.outcomes import with_outcomes

NOW = dt.datetime(2026, 3, 16, 12, 0, tzinfo=dt.UTC)  # a Monday


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def demo(db):
    run("seed_demo", "--customers", "600")
    run("seed_survey_demo", "--if-empty")
    return run("seed_case_demo")


def test_the_demo_opens_about_25_cases_at_every_stage(demo):
    assert "Case demo loaded" in demo
    assert 20 <= Case.objects.count() <= 30
    stages = set(Case.objects.values_list("stage", flat=True))
    assert stages == set(Stage.values)
    assert Case.objects.filter(stage=Stage.DIAGNOSED).exclude(primary_reason="").exists()
    assert not Case.objects.filter(stage__in=[Stage.DIAGNOSED, Stage.OFFER_MADE], primary_reason="").exists()
    # Each offer-made case has its open offer; each won-back one an accepted offer and purchases since.
    for case in Case.objects.filter(stage=Stage.OFFER_MADE):
        assert case.offers.filter(status=Offer.Status.OPEN).exists()
    won_back = with_outcomes(Case.objects.filter(stage=Stage.WON_BACK, relapse_cases__isnull=True))
    assert won_back.exists()
    for case in won_back:
        assert case.offers.filter(status=Offer.Status.ACCEPTED).exists()
        assert case.recovered_revenue > 0
        assert case.tasks.filter(kind=Task.Kind.HEALTH_REVIEW).count() == 4
    assert Task.objects.filter(kind=Task.Kind.HEALTH_REVIEW, done_at__isnull=False).exists()
    for case in Case.objects.filter(stage__in=[Stage.LOST, Stage.LET_GO]):
        assert case.close_note
    assert Activity.objects.filter(diagnosed=True).exclude(reason="").exists()


def test_the_demo_has_overdue_work_the_pool_a_relapse_a_rescue_and_two_corrective_actions(demo):
    now = dt.datetime.now(tz=dt.UTC)
    assert Case.objects.filter(is_open=True, deadline_at__lt=now, first_contact_at__isnull=True).exists()
    assert Case.objects.filter(is_open=True, deadline_at__lt=now, first_contact_at__isnull=False).exists()
    assert Task.objects.filter(done_at__isnull=True, due_on__lt=now.date()).exists()
    assert Case.objects.filter(is_open=True, owner__isnull=True).count() == 2
    relapse = Case.objects.get(relapse=True, previous_case__isnull=False)
    assert relapse.is_open
    assert relapse.previous_case.stage == Stage.WON_BACK
    assert relapse.previous_case.customer_id == relapse.customer_id
    pick = RescuePick.objects.select_related("executive", "case").get()
    assert pick.executive.username == "exec1"
    assert pick.case.owner == pick.executive == pick.case.rescued_by
    assert pick.case.followers.filter(pk=pick.previous_owner_id).exists()
    actions = CorrectiveAction.objects.all()
    assert actions.count() == 2
    for action in actions:
        assert action.events.exists()
        assert action.lost_revenue == sum(event.lost_revenue for event in action.events.all())


def test_every_case_has_a_timeline_that_starts_with_its_opening_and_runs_over_days(demo):
    for case in Case.objects.all():
        kinds = list(case.history.order_by("at", "id").values_list("kind", flat=True))
        assert kinds[0] == CaseEvent.Kind.OPENED
    won = Case.objects.filter(stage=Stage.WON_BACK).order_by("opened_at").first()
    times = list(won.history.values_list("at", flat=True))
    assert max(times) - min(times) > dt.timedelta(days=3)
    assert all(moment <= NOW for moment in CaseEvent.objects.values_list("at", flat=True))


def test_running_it_again_changes_nothing(demo):
    counts = (Case.objects.count(), CaseEvent.objects.count(), Offer.objects.count(), CorrectiveAction.objects.count())
    assert "already loaded" in run("seed_case_demo")
    assert "already loaded" in run("seed_case_demo", "--if-empty")
    again = (Case.objects.count(), CaseEvent.objects.count(), Offer.objects.count(), CorrectiveAction.objects.count())
    assert again == counts


@pytest.mark.django_db
def test_without_the_demo_company_it_loads_nothing():
    assert "already loaded" in run("seed_case_demo")
    assert not Case.objects.exists()
