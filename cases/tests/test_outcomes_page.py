"""Outcomes: recovered revenue since the win-back against the accepted offers' cost, per case
and in total, over the cases the user may see, filtered by period, owner and segment."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.tests.factories import CaseFactory, OfferFactory
from customers.models import Transaction
from customers.tests.factories import SegmentFactory, TransactionFactory

NOW = timezone.now()


def _won(owner=None, *, days_ago=30, purchases=(), refunds=(), costs=(), declined=(), **fields):
    kwargs = {"owner": owner} if owner is not None else {}
    case = CaseFactory(
        stage="won_back",
        is_open=False,
        won_back_at=NOW - dt.timedelta(days=days_ago),
        deadline_at=None,
        **kwargs,
        **fields,
    )
    for amount in purchases:
        TransactionFactory(customer=case.customer, amount=Decimal(amount), occurred_at=NOW - dt.timedelta(days=1))
    for amount in refunds:
        TransactionFactory(
            customer=case.customer,
            amount=Decimal(amount),
            kind=Transaction.Kind.REFUND,
            occurred_at=NOW - dt.timedelta(days=1),
        )
    TransactionFactory(customer=case.customer, amount=Decimal("777"), occurred_at=NOW - dt.timedelta(days=days_ago + 5))
    for cost in costs:
        OfferFactory(case=case, cost=Decimal(cost), status="accepted")
    for cost in declined:
        OfferFactory(case=case, cost=Decimal(cost), status="declined")
    return case


def test_the_totals_and_each_cases_figures_match_the_purchases_since_the_win_back(admin_client):
    first = _won(purchases=["100", "250.50"], refunds=["50"], costs=["40"], declined=["999"])
    second = _won(purchases=["1000"], costs=["60", "100"])
    _won(purchases=["20"])  # no offer: no return to show
    CaseFactory()  # open, not won back: not an outcome
    recovered = Decimal("100") + Decimal("250.50") - Decimal("50") + Decimal("1000") + Decimal("20")
    cost = Decimal("40") + Decimal("60") + Decimal("100")
    answer = admin_client.get(reverse("cases:outcomes"))
    assert answer.context["totals"] == {"recovered": recovered, "cost": cost}
    assert answer.context["total_return"] == (recovered / cost).quantize(Decimal("0.01"))
    rows = {case.pk: case for case in answer.context["page"]}
    assert len(rows) == 3
    assert (rows[first.pk].recovered_revenue, rows[first.pk].offer_cost) == (Decimal("300.50"), Decimal("40"))
    assert (rows[second.pk].recovered_revenue, rows[second.pk].offer_cost) == (Decimal("1000"), Decimal("160"))
    html = answer.content.decode()
    assert "1,320.50" in html
    assert "200.00" in html


def test_a_manager_sees_only_the_outcomes_of_cases_they_may_see(manager_client, manager, other_manager):
    mine = _won(manager, purchases=["100"])
    followed = _won(other_manager, purchases=["10"], followers=[manager])
    _won(other_manager, purchases=["5000"])
    answer = manager_client.get(reverse("cases:outcomes"))
    assert {case.pk for case in answer.context["page"]} == {mine.pk, followed.pk}
    assert answer.context["totals"]["recovered"] == Decimal("110")


@pytest.mark.parametrize("role_user", ["executive", "administrator"], indirect=True)
def test_executives_and_administrators_see_every_outcome(client, role_user, manager, other_manager):
    _won(manager, purchases=["100"])
    _won(other_manager, purchases=["200"])
    client.force_login(role_user)
    assert client.get(reverse("cases:outcomes")).context["totals"]["recovered"] == Decimal("300")


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    assert client.get(reverse("cases:outcomes"))["Location"].startswith("/accounts/login/")


def test_the_filters_by_period_owner_and_segment(admin_client, manager, other_manager):
    wholesale = SegmentFactory(name="Wholesale")
    recent = _won(manager, days_ago=5, purchases=["1"])
    old = _won(other_manager, days_ago=100, purchases=["2"])
    big = _won(manager, days_ago=50, purchases=["4"], customer__segment=wholesale)
    url = reverse("cases:outcomes")

    def shown(**params):
        return {case.pk for case in admin_client.get(url, params).context["page"]}

    since = (timezone.localdate() - dt.timedelta(days=10)).isoformat()
    assert shown(since=since) == {recent.pk}
    assert shown(until=(timezone.localdate() - dt.timedelta(days=60)).isoformat()) == {old.pk}
    assert shown(owner=manager.pk) == {recent.pk, big.pk}
    assert shown(segment=wholesale.pk) == {big.pk}
    bad = admin_client.get(url, {"since": "2025-05-01", "until": "2025-04-01"})
    assert "The end of the period is before its start." in bad.content.decode()


def test_the_page_runs_a_fixed_number_of_queries(admin_client, django_assert_max_num_queries):
    for _ in range(12):
        _won(purchases=["10"], costs=["1"])
    # session, user, role, count, totals, page, the owner and segment choices, permissions x2
    with django_assert_max_num_queries(10):
        answer = admin_client.get(reverse("cases:outcomes"))
    assert len(answer.context["page"].object_list) == 12
