"""The case state machine: every transition, allowed and refused, and what each records."""

import pytest
from django.core.exceptions import ValidationError

from cases import states
from cases.models import CaseEvent, Offer, Stage, Task
from cases.tests.factories import CaseFactory, OfferFactory
from customers.models import DefectionEvent, ReasonChange

pytestmark = pytest.mark.django_db

OPEN = ["contacting", "diagnosed", "offer_made"]


def _case_at(stage: str, **kwargs):
    case = CaseFactory(primary_reason="price", **kwargs)
    OfferFactory(case=case)
    if stage != Stage.NEW:
        states.move(case, stage, actor=case.owner, note="set up")
        case.refresh_from_db()
    return case


@pytest.mark.parametrize("start", ["new", *OPEN])
@pytest.mark.parametrize("to", [*OPEN, "won_back", "lost", "let_go"])
def test_an_open_case_moves_to_any_other_stage_with_what_the_move_needs(start, to):
    case = _case_at(start)
    if start == to:
        with pytest.raises(ValidationError):
            states.move(case, to, actor=case.owner, note="again")
        return
    moved = states.move(case, to, actor=case.owner, note="because")
    assert moved.stage == to
    assert moved.is_open is (to in OPEN)
    entry = CaseEvent.objects.filter(case=case).first()
    assert entry.kind == CaseEvent.Kind.STAGE
    assert entry.after["stage"] == to
    assert entry.actor == case.owner


@pytest.mark.parametrize("start", ["new", *OPEN, "won_back", "lost", "let_go"])
def test_no_case_goes_back_to_new(start):
    case = _case_at(start)
    with pytest.raises(ValidationError) as error:
        states.move(case, Stage.NEW, actor=case.owner, note="back")
    assert "stage" in error.value.message_dict
    case.refresh_from_db()
    assert case.stage == start


@pytest.mark.parametrize("to", ["lost", "let_go", "won_back"])
def test_closing_without_a_note_is_refused_and_changes_nothing(to):
    case = _case_at("contacting")
    entries = CaseEvent.objects.filter(case=case).count()
    with pytest.raises(ValidationError) as error:
        states.move(case, to, actor=case.owner, note="  ")
    assert "note" in error.value.message_dict
    case.refresh_from_db()
    assert case.stage == Stage.CONTACTING
    assert case.is_open
    assert CaseEvent.objects.filter(case=case).count() == entries


def test_detection_wins_a_case_back_without_a_note_and_schedules_health_reviews():
    case = _case_at("offer_made")
    moved = states.move(case, Stage.WON_BACK, actor=None, automatic=True)
    assert moved.won_back_at is not None
    assert moved.deadline_at is None
    reviews = Task.objects.filter(case=case, kind=Task.Kind.HEALTH_REVIEW).order_by("due_on")
    assert reviews.count() == 4
    assert all(task.assignee_id == case.owner_id for task in reviews)
    assert CaseEvent.objects.filter(case=case).first().actor is None


def test_diagnosed_needs_a_reason():
    case = CaseFactory(primary_reason="")
    with pytest.raises(ValidationError) as error:
        states.move(case, Stage.DIAGNOSED, actor=case.owner)
    assert "reason" in error.value.message_dict
    moved = states.move(case, Stage.DIAGNOSED, actor=case.owner, reason="delivery", fault="ours")
    assert (moved.primary_reason, moved.fault) == ("delivery", "ours")
    event = DefectionEvent.objects.get(pk=case.event_id)
    assert (event.primary_reason, event.fault) == ("delivery", "ours")
    assert ReasonChange.objects.get(event=event).source == ReasonChange.Source.CASE


def test_offer_made_needs_an_open_or_accepted_offer():
    case = CaseFactory()
    with pytest.raises(ValidationError):
        states.move(case, Stage.OFFER_MADE, actor=case.owner)
    OfferFactory(case=case, status=Offer.Status.DECLINED)
    with pytest.raises(ValidationError):
        states.move(case, Stage.OFFER_MADE, actor=case.owner)
    OfferFactory(case=case)
    assert states.move(case, Stage.OFFER_MADE, actor=case.owner).stage == Stage.OFFER_MADE


@pytest.mark.parametrize("closed", ["won_back", "lost", "let_go"])
def test_a_closed_case_is_reopened_with_a_note_and_the_reopening_is_recorded(closed):
    case = _case_at(closed)
    with pytest.raises(ValidationError):
        states.move(case, Stage.CONTACTING, actor=case.owner)
    moved = states.move(case, Stage.CONTACTING, actor=case.owner, note="they called back")
    assert moved.is_open
    assert moved.reopened_count == 1
    assert moved.closed_at is None
    assert moved.deadline_at == moved.due_at
    assert CaseEvent.objects.filter(case=case).first().kind == CaseEvent.Kind.REOPENED


def test_reopening_is_refused_while_the_customer_has_another_open_case():
    case = _case_at("lost")
    CaseFactory(customer=case.customer, owner=case.owner, event=None)
    with pytest.raises(ValidationError) as error:
        states.move(case, Stage.CONTACTING, actor=case.owner, note="again")
    assert "stage" in error.value.message_dict


def test_the_first_move_past_new_counts_as_first_contact():
    case = CaseFactory()
    assert case.deadline_at == case.first_contact_due
    moved = states.move(case, Stage.CONTACTING, actor=case.owner)
    assert moved.first_contact_at is not None
    assert moved.deadline_at == moved.due_at


def test_the_history_cannot_be_changed_or_deleted():
    case = _case_at("contacting")
    entry = CaseEvent.objects.filter(case=case).first()
    entry.summary = "rewritten"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        CaseEvent.objects.filter(case=case).update(summary="x")
    with pytest.raises(PermissionError):
        CaseEvent.objects.filter(case=case).delete()
