"""Intensive care: the health reviews a win-back schedules, the facts a review shows, and the review
page (who may see and complete it)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from cases import states
from cases.care_facts import health_review_facts
from cases.models import CaseEvent, CaseSettings, Stage, Task
from cases.services.housekeeping import run_housekeeping
from cases.tests.factories import CaseFactory, TaskFactory
from customers.models import Customer, Interaction, Transaction
from customers.tests.factories import InteractionFactory, TransactionFactory

pytestmark = pytest.mark.django_db


def at_noon(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12)))


def won_back(case=None, *, on: dt.date = dt.date(2026, 1, 31)):
    case = case or CaseFactory(opened_at=at_noon(on) - dt.timedelta(days=30))
    return states.move(case, Stage.WON_BACK, actor=None, automatic=True, won_back_at=at_noon(on))


def reviews(case) -> list[Task]:
    return list(case.tasks.filter(kind=Task.Kind.HEALTH_REVIEW).order_by("due_on"))


def test_a_win_back_schedules_four_reviews_every_six_months_for_two_years_by_default():
    case = won_back()
    due = [task.due_on for task in reviews(case)]
    assert due == [dt.date(2026, 7, 31), dt.date(2027, 1, 31), dt.date(2027, 7, 31), dt.date(2028, 1, 31)]
    assert [task.title for task in reviews(case)] == [f"Health review {n} of 4" for n in range(1, 5)]
    assert {task.assignee for task in reviews(case)} == {case.owner}
    assert {task.created_by for task in reviews(case)} == {None}


def test_the_schedule_follows_the_settings():
    settings = CaseSettings.load()
    settings.care_interval_months, settings.care_duration_months = 3, 12
    settings.save()
    case = won_back(on=dt.date(2026, 8, 31))
    assert [task.due_on for task in reviews(case)] == [
        dt.date(2026, 11, 30),
        dt.date(2027, 2, 28),
        dt.date(2027, 5, 31),
        dt.date(2027, 8, 31),
    ]


def test_an_automatic_win_back_schedules_the_reviews_from_the_purchase_and_only_once():
    case = CaseFactory(opened_at=timezone.now() - dt.timedelta(days=40))
    bought = timezone.now() - dt.timedelta(days=5)
    TransactionFactory(customer=case.customer, occurred_at=bought)
    Customer.objects.filter(pk=case.customer_id).update(last_purchase_at=bought)
    run_housekeeping()
    run_housekeeping()
    first = timezone.localdate(bought)
    assert [task.due_on for task in reviews(case)] == [
        first + dt.timedelta(days=0) + _months(6),
        first + _months(12),
        first + _months(18),
        first + _months(24),
    ]


def _months(n: int):
    from dateutil.relativedelta import relativedelta

    return relativedelta(months=n)


def test_the_facts_count_purchases_and_contacts_since_the_win_back_only():
    case = won_back(on=timezone.localdate() - dt.timedelta(days=100))
    customer = case.customer
    before = case.won_back_at - dt.timedelta(days=1)
    TransactionFactory(customer=customer, occurred_at=before, amount=Decimal("999"))
    InteractionFactory(customer=customer, occurred_at=before, kind=Interaction.Kind.COMPLAINT)
    for days, amount in ((90, "120.00"), (60, "80.00"), (10, "50.00")):
        TransactionFactory(
            customer=customer, occurred_at=timezone.now() - dt.timedelta(days=days), amount=Decimal(amount)
        )
    TransactionFactory(
        customer=customer, occurred_at=timezone.now() - dt.timedelta(days=9), amount=Decimal("30"), kind="refund"
    )
    InteractionFactory(customer=customer, kind=Interaction.Kind.COMPLAINT, status=Interaction.Status.OPEN)
    InteractionFactory(customer=customer, kind=Interaction.Kind.SUPPORT_REQUEST)
    InteractionFactory(customer=customer, kind=Interaction.Kind.SUPPORT_REQUEST)
    InteractionFactory(customer=customer, kind=Interaction.Kind.PRAISE)
    Customer.objects.filter(pk=customer.pk).update(status="at_risk", last_purchase_at=None)
    case.customer.refresh_from_db()

    facts = health_review_facts(case)

    assert (facts["purchases"], facts["refunds"], facts["revenue"]) == (3, 1, Decimal("220.00"))
    assert (facts["support_contacts"], facts["complaints"], facts["unanswered"]) == (2, 1, 1)
    assert len(facts["recent_contacts"]) == 3
    assert (
        facts["last_purchase_at"] == Transaction.objects.filter(kind="purchase").order_by("-occurred_at")[0].occurred_at
    )
    assert (facts["status"], facts["relapsed"]) == ("at_risk", True)


# --- the review page ------------------------------------------------------------------------


@pytest.fixture
def review(manager):
    case = won_back(
        CaseFactory(owner=manager, opened_at=timezone.now() - dt.timedelta(days=60)),
        on=timezone.localdate() - dt.timedelta(days=3),
    )
    return reviews(case)[0]


def url(task) -> str:
    return reverse("cases:care_review", args=[task.pk])


def test_anonymous_visitors_are_sent_to_sign_in(client, review):
    response = client.get(url(review))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    assert client.post(url(review), {"notes": "x"}).status_code == 302
    review.refresh_from_db()
    assert review.done_at is None


def test_the_assignee_sees_the_facts_and_completes_the_review(
    manager_client, manager, review, django_assert_max_num_queries
):
    customer = review.case.customer
    for days in range(1, 30):
        TransactionFactory(customer=customer, occurred_at=timezone.now() - dt.timedelta(hours=days))
        InteractionFactory(customer=customer, occurred_at=timezone.now() - dt.timedelta(hours=days))
    with django_assert_max_num_queries(10):
        response = manager_client.get(url(review))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Health review 1 of 4" in body
    assert customer.name in body
    assert response.context["facts"]["purchases"] == 29
    assert response.context["facts"]["complaints"] == 29

    response = manager_client.post(url(review), {"notes": "Buying again, happy with delivery."})
    assert response.status_code == 302
    review.refresh_from_db()
    assert (review.done_by, review.notes) == (manager, "Buying again, happy with delivery.")
    assert review.done_at is not None
    entry = CaseEvent.objects.filter(case=review.case, kind=CaseEvent.Kind.TASK).get()
    assert entry.actor == manager
    assert "Buying again" in entry.summary
    manager_client.post(url(review), {"notes": "again"})
    assert CaseEvent.objects.filter(case=review.case, kind=CaseEvent.Kind.TASK).count() == 1
    assert "Done on" in manager_client.get(url(review)).content.decode()


def test_another_manager_gets_a_404_and_changes_nothing(client, other_manager, review):
    client.force_login(other_manager)
    assert client.get(url(review)).status_code == 404
    assert client.post(url(review), {"notes": "mine now"}).status_code == 404
    review.refresh_from_db()
    assert review.done_at is None


def test_an_executive_may_look_only_at_reviews_of_cases_they_own(client, executive, review):
    client.force_login(executive)
    assert client.get(url(review)).status_code == 403
    assert client.post(url(review), {"notes": "x"}).status_code == 403
    review.refresh_from_db()
    assert review.done_at is None

    theirs = won_back(CaseFactory(owner=executive, rescued_by=executive), on=timezone.localdate())
    assert client.get(url(reviews(theirs)[0])).status_code == 200


def test_an_administrator_completes_any_review(admin_client, administrator, review, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        assert admin_client.get(url(review)).status_code == 200
    assert admin_client.post(url(review), {"notes": ""}).status_code == 302
    review.refresh_from_db()
    assert review.done_by == administrator


def test_a_follow_up_task_or_a_guessed_id_has_no_review_page(admin_client):
    follow_up = TaskFactory()
    assert admin_client.get(url(follow_up)).status_code == 404
    assert admin_client.get(reverse("cases:care_review", args=[999999])).status_code == 404


def test_an_assignee_who_no_longer_owns_the_case_still_reviews_it(client, review, other_manager):
    former = review.assignee
    case = review.case
    case.owner = other_manager
    case.save()
    client.force_login(former)
    assert client.get(url(review)).status_code == 200
