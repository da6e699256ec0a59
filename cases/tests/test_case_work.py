"""The work services behind the case page: the first contact, diagnoses, offers and their
decisions, tasks, stage moves and reopening, reassignment, each with its history entry."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from cases.models import Activity, Case, CaseEvent, Offer, Stage
from cases.services import work
from cases.tests.factories import CaseFactory, OfferFactory, TaskFactory
from winback.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

Kind = CaseEvent.Kind


def _kinds(case) -> list[str]:
    return list(CaseEvent.objects.filter(case=case).order_by("at", "id").values_list("kind", flat=True))


def test_the_first_logged_call_moves_a_new_case_to_contacting_and_sets_the_next_deadline():
    case = CaseFactory()
    work.log_activity(case=case, actor=case.owner, kind=Activity.Kind.CALL, apologised=True, notes="Reached her")
    case.refresh_from_db()
    assert case.stage == Stage.CONTACTING
    assert case.first_contact_at is not None
    assert case.deadline_at == case.due_at
    assert _kinds(case) == [Kind.ACTIVITY, Kind.STAGE]
    event = CaseEvent.objects.get(case=case, kind=Kind.ACTIVITY)
    assert event.actor == case.owner
    assert "Reached her" in event.summary
    assert "apologised" in event.summary

    first_contact = case.first_contact_at
    work.log_activity(case=case, actor=case.owner, kind=Activity.Kind.MEETING)
    case.refresh_from_db()
    assert case.first_contact_at == first_contact
    assert case.stage == Stage.CONTACTING


def test_a_first_contact_on_a_case_already_past_new_only_sets_the_deadlines():
    case = CaseFactory(stage=Stage.DIAGNOSED, primary_reason="price")
    work.log_activity(case=case, actor=case.owner, kind=Activity.Kind.CALL)
    case.refresh_from_db()
    assert case.stage == Stage.DIAGNOSED
    assert case.first_contact_at is not None
    assert case.deadline_at == case.due_at


def test_a_diagnosis_records_the_reason_on_the_case_and_its_defection():
    case = CaseFactory()
    work.log_activity(
        case=case, actor=case.owner, kind=Activity.Kind.CALL, diagnosed=True, reason="delivery", fault="ours"
    )
    case.refresh_from_db()
    case.event.refresh_from_db()
    assert (case.primary_reason, case.fault) == ("delivery", "ours")
    assert (case.event.primary_reason, case.event.fault) == ("delivery", "ours")
    assert Kind.REASON in _kinds(case)


def test_a_diagnosis_without_a_reason_is_refused_and_nothing_is_stored():
    case = CaseFactory()
    with pytest.raises(ValidationError) as error:
        work.log_activity(case=case, actor=case.owner, kind=Activity.Kind.CALL, diagnosed=True)
    assert set(error.value.message_dict) == {"reason", "fault"}
    assert not Activity.objects.exists()
    assert not CaseEvent.objects.filter(case=case).exists()


def test_an_offer_moves_an_open_case_to_offer_made_but_leaves_a_closed_one_alone():
    case = CaseFactory(stage=Stage.CONTACTING)
    expires = timezone.localdate() + dt.timedelta(days=10)
    work.make_offer(
        case=case, actor=case.owner, kind="discount", value=Decimal(15), cost=Decimal(90), expires_on=expires
    )
    case.refresh_from_db()
    assert case.stage == Stage.OFFER_MADE
    assert _kinds(case) == [Kind.OFFER, Kind.STAGE]

    closed = CaseFactory(stage=Stage.LOST, is_open=False)
    work.make_offer(
        case=closed, actor=closed.owner, kind="credit", value=Decimal(50), cost=Decimal(50), expires_on=expires
    )
    closed.refresh_from_db()
    assert closed.stage == Stage.LOST


def test_an_offer_is_decided_once_and_an_expired_one_cannot_be_accepted():
    offer = OfferFactory()
    work.decide_offer(offer=offer, actor=offer.case.owner, decision=Offer.Status.ACCEPTED)
    offer.refresh_from_db()
    assert offer.status == Offer.Status.ACCEPTED
    assert offer.decided_by == offer.case.owner
    with pytest.raises(ValidationError):
        work.decide_offer(offer=offer, actor=offer.case.owner, decision=Offer.Status.DECLINED)

    expired = OfferFactory(expires_on=timezone.localdate() - dt.timedelta(days=1))
    with pytest.raises(ValidationError):
        work.decide_offer(offer=expired, actor=expired.case.owner, decision=Offer.Status.ACCEPTED)
    work.decide_offer(offer=expired, actor=expired.case.owner, decision=Offer.Status.DECLINED)
    expired.refresh_from_db()
    assert expired.status == Offer.Status.DECLINED
    assert CaseEvent.objects.filter(case=expired.case, kind=Kind.OFFER).count() == 1


def test_deciding_through_the_page_shows_the_refusal(client):
    offer = OfferFactory(expires_on=timezone.localdate() - dt.timedelta(days=1))
    client.force_login(offer.case.owner)
    response = client.post(reverse("cases:offer_decide", args=[offer.pk]), {"decision": "accepted"})
    assert response.status_code == 200
    assert "expired" in response.context["form"].errors["decision"][0]
    offer.refresh_from_db()
    assert offer.status == Offer.Status.OPEN


def test_a_task_for_another_manager_makes_them_a_follower_and_completing_it_is_recorded():
    case = CaseFactory()
    helper = UserFactory(role="Account managers")
    task = work.add_task(
        case=case, actor=case.owner, title="Call back Tuesday", assignee=helper, due_on=timezone.localdate()
    )
    assert case.followers.filter(pk=helper.pk).exists()
    work.complete_task(task=task, actor=helper)
    work.complete_task(task=task, actor=helper)  # a second click changes nothing
    task.refresh_from_db()
    assert task.done_by == helper
    assert _kinds(case) == [Kind.FOLLOWER, Kind.TASK, Kind.TASK]


def test_a_task_is_completed_by_its_assignee_or_those_who_work_the_case_only(client):
    task = TaskFactory()
    bystander = UserFactory(role="Executives")
    client.force_login(bystander)
    assert client.post(reverse("cases:task_done", args=[task.pk])).status_code == 403
    task.refresh_from_db()
    assert task.done_at is None


def test_moving_shows_the_state_machines_message_on_the_field_and_reopening_is_recorded(client):
    case = CaseFactory(stage=Stage.CONTACTING)
    client.force_login(case.owner)
    url = reverse("cases:move", args=[case.pk])
    refused = client.post(url, {"stage": "let_go"})
    assert "note" in refused.context["form"].errors
    assert client.post(url, {"stage": "let_go", "note": "Moved abroad"}).status_code == 302
    case.refresh_from_db()
    assert case.stage == Stage.LET_GO
    assert not case.is_open
    page = client.get(url)
    assert [value for value, _label in page.context["form"].fields["stage"].choices] == [
        "contacting",
        "diagnosed",
        "offer_made",
    ]
    assert client.post(url, {"stage": "contacting", "note": "She called us back"}).status_code == 302
    case.refresh_from_db()
    assert case.is_open
    assert case.reopened_count == 1
    assert _kinds(case)[-1] == Kind.REOPENED


def test_moving_to_diagnosed_with_a_reason_records_it(client):
    case = CaseFactory(stage=Stage.CONTACTING)
    client.force_login(case.owner)
    client.post(reverse("cases:move", args=[case.pk]), {"stage": "diagnosed", "reason": "billing", "fault": "ours"})
    case.refresh_from_db()
    assert (case.stage, case.primary_reason, case.fault) == (Stage.DIAGNOSED, "billing", "ours")


def test_reassigning_records_the_owner_and_follower_changes():
    case = CaseFactory()
    admin = UserFactory(role="Administrators")
    successor = UserFactory(role="Account managers")
    previous = case.owner
    work.reassign_case(case=case, actor=admin, owner=successor, followers=[previous, successor])
    case = Case.objects.get(pk=case.pk)
    assert case.owner == successor
    assert list(case.followers.all()) == [previous]  # the owner is never also a follower
    assert _kinds(case) == [Kind.OWNER, Kind.FOLLOWER]
    owner_event = CaseEvent.objects.get(case=case, kind=Kind.OWNER)
    assert owner_event.before == {"owner": previous.pk}
    assert owner_event.after == {"owner": successor.pk}
    assert owner_event.actor == admin


def test_a_case_is_not_given_to_an_administrator_or_an_inactive_manager():
    case = CaseFactory()
    admin = UserFactory(role="Administrators")
    inactive = UserFactory(role="Account managers", is_active=False)
    for owner in (admin, inactive):
        with pytest.raises(ValidationError):
            work.reassign_case(case=case, actor=admin, owner=owner, followers=[])
    assert Case.objects.get(pk=case.pk).owner_id != admin.pk
