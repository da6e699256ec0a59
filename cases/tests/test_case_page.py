"""The case page: who may see it, what it shows for the call, its fixed query budget, and hostile
text shown literally (SUR-09)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import CaseEvent, Offer, Stage
from cases.services import history
from cases.tests.factories import ActivityFactory, CaseFactory, OfferFactory, TaskFactory
from cases.tests.test_case_support import (
    VIEWERS,
    assert_login_redirect,
    case_and_user,
    client_for,
    expected_status,
    role_param,
)
from cases.timeline import PAGE_SIZE
from customers.models import Interaction, StatusChange, Transaction
from customers.tests.factories import InteractionFactory, TransactionFactory
from surveys.tests.test_inbox_support import make_response

pytestmark = pytest.mark.django_db

XSS = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "{{7*7}}", "{% debug %}"]
ESCAPED = {
    "<script>alert(1)</script>": "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<img src=x onerror=alert(1)>": "&lt;img src=x onerror=alert(1)&gt;",
    "{{7*7}}": "{{7*7}}",
    "{% debug %}": "{% debug %}",
}


def _url(case) -> str:
    return reverse("cases:detail", args=[case.pk])


@role_param
def test_the_case_page_is_shown_to_those_who_may_see_the_case(client, role):
    case, user = case_and_user(role)
    response = client_for(client, user).get(_url(case))
    if role == "anonymous":
        assert_login_redirect(response)
        return
    assert response.status_code == (200 if role in VIEWERS else 404)


@role_param
def test_the_action_forms_are_shown_only_to_those_who_may_work_the_case(client, role):
    case, user = case_and_user(role)
    response = client_for(client, user).get(_url(case))
    if response.status_code != 200:
        return
    html = response.content.decode()
    works = expected_status(role, ok=200) == 200
    assert (reverse("cases:log", args=[case.pk]) in html) is works
    assert (reverse("cases:reassign", args=[case.pk]) in html) is (role == "administrator")


def test_a_guessed_id_is_a_404_like_a_case_that_does_not_exist(client, other_manager):
    foreign = CaseFactory()
    client.force_login(other_manager)
    assert client.get(_url(foreign)).status_code == 404
    assert client.get(reverse("cases:detail", args=[foreign.pk + 10_000])).status_code == 404


def test_a_pool_case_is_visible_to_every_manager_and_offers_to_take_it(client, other_manager):
    case = CaseFactory(owner=None)
    client.force_login(other_manager)
    response = client.get(_url(case))
    assert response.status_code == 200
    assert reverse("cases:take", args=[case.pk]) in response.content.decode()


def test_the_page_shows_contact_preferences_prominently(client):
    case = CaseFactory(
        customer__do_not_contact=True,
        customer__preferred_channel="phone",
        customer__contact_notes="Never before 10 am",
        customer__phone="+49 30 1234567",
        customer__survey_opt_out_at=timezone.now(),
    )
    client.force_login(case.owner)
    html = client.get(_url(case)).content.decode()
    assert "Do not contact" in html
    assert "Phone" in html
    assert "+49 30 1234567" in html
    assert "Never before 10 am" in html
    assert "Opted out of surveys" in html
    assert case.customer.email in html
    assert reverse("customers:detail", args=[case.customer.pk]) in html


def test_the_page_explains_the_latest_status_change(client):
    case = CaseFactory()
    StatusChange.objects.create(
        customer=case.customer,
        from_status="active",
        to_status="defected",
        rule=StatusChange.Rule.INACTIVE_DEFECTED,
        facts={"days": 124, "gap": 21, "defected_days": 90},
        as_of=timezone.localdate(),
        changed_at=timezone.now(),
    )
    client.force_login(case.owner)
    html = client.get(_url(case)).content.decode()
    assert "No purchase for 124 days" in html
    assert "segment rule: 90 days" in html


def test_the_page_shows_purchases_and_complaints_before_the_departure_and_since_the_win_back(client):
    case = CaseFactory(stage=Stage.WON_BACK, is_open=False, won_back_at=timezone.now() - dt.timedelta(days=5))
    departure = case.event.detected_at
    TransactionFactory(customer=case.customer, occurred_at=departure - dt.timedelta(days=40), amount=Decimal("111.11"))
    TransactionFactory(customer=case.customer, occurred_at=timezone.now() - dt.timedelta(days=1), amount=Decimal("222"))
    InteractionFactory(
        customer=case.customer,
        occurred_at=departure - dt.timedelta(days=50),
        kind=Interaction.Kind.COMPLAINT,
        summary="Parcel arrived broken",
    )
    OfferFactory(case=case, status=Offer.Status.ACCEPTED, cost=Decimal("50"))
    client.force_login(case.owner)
    html = client.get(_url(case)).content.decode()
    assert "111.11 EUR" in html
    assert "Parcel arrived broken" in html
    assert "Since the win-back" in html
    assert "222.00 EUR" in html
    # Recovered revenue since the win-back, the accepted offer's cost, and the net.
    assert "Recovered revenue since" in html
    assert "172.00 EUR" in html


def test_the_page_shows_survey_answers_offers_tasks_and_overdue_deadlines_in_red(client):
    case = CaseFactory(deadline_at=timezone.now() - dt.timedelta(hours=2))
    make_response(customer=case.customer, text="Your courier was rude.", event_status="closed")
    OfferFactory(case=case, description="Two months at 15 %")
    TaskFactory(case=case, title="Call back Tuesday", due_on=timezone.localdate() - dt.timedelta(days=1))
    client.force_login(case.owner)
    html = client.get(_url(case)).content.decode()
    assert "Your courier was rude." in html
    assert "Two months at 15 %" in html
    assert 'value="accepted"' in html
    assert 'value="declined"' in html
    assert "Call back Tuesday" in html
    assert html.count("Overdue") >= 2  # the case's deadline and the task
    assert "text-danger" in html


def test_an_expired_open_offer_cannot_be_accepted_from_the_page(client):
    case = CaseFactory()
    OfferFactory(case=case, expires_on=timezone.localdate() - dt.timedelta(days=1))
    client.force_login(case.owner)
    html = client.get(_url(case)).content.decode()
    assert "Expired" in html
    assert 'value="accepted"' not in html


def test_a_relapse_links_to_the_previous_case(client):
    previous = CaseFactory(stage=Stage.WON_BACK, is_open=False)
    case = CaseFactory(
        owner=previous.owner, customer=previous.customer, event=previous.event, relapse=True, previous_case=previous
    )
    client.force_login(case.owner)
    html = client.get(_url(case)).content.decode()
    assert "Relapse" in html
    assert reverse("cases:detail", args=[previous.pk]) in html


def test_the_timeline_is_paged_newest_first_and_says_it_cannot_be_changed(client):
    case = CaseFactory()
    for number in range(PAGE_SIZE + 5):
        history.record(case, CaseEvent.Kind.NOTE, f"entry {number:03d}", actor=case.owner)
    client.force_login(case.owner)
    first = client.get(_url(case)).content.decode()
    assert "cannot be edited or deleted" in first
    assert f"entry {PAGE_SIZE + 4:03d}" in first
    assert "entry 000" not in first
    assert "?events=2" in first
    second = client.get(_url(case), {"events": 2}).content.decode()
    assert "entry 000" in second
    assert f"entry {PAGE_SIZE + 4:03d}" not in second


def test_the_page_makes_a_fixed_number_of_queries_however_long_the_history(client, django_assert_max_num_queries):
    case = CaseFactory(stage=Stage.WON_BACK, is_open=False, won_back_at=timezone.now() - dt.timedelta(days=30))
    departure = case.event.detected_at
    Transaction.objects.bulk_create(
        Transaction(
            customer=case.customer,
            external_id=f"q{n}",
            occurred_at=departure - dt.timedelta(days=n + 1) if n % 2 else timezone.now() - dt.timedelta(hours=n),
            amount=Decimal("10"),
        )
        for n in range(60)
    )
    InteractionFactory.create_batch(15, customer=case.customer, occurred_at=departure - dt.timedelta(days=3))
    for _ in range(4):
        make_response(customer=case.customer, text="Slow delivery", event_status="closed")
    OfferFactory.create_batch(25, case=case)
    TaskFactory.create_batch(25, case=case)
    ActivityFactory.create_batch(10, case=case)
    for number in range(60):
        history.record(case, CaseEvent.Kind.NOTE, f"entry {number}", actor=case.owner)
    case.followers.add(*[CaseFactory().owner for _ in range(5)])
    client.force_login(case.owner)
    with django_assert_max_num_queries(20):
        response = client.get(_url(case))
    assert response.status_code == 200


def test_hostile_text_in_answers_notes_and_the_timeline_is_shown_literally(client):
    payload = "\n".join(XSS)
    case = CaseFactory(customer__contact_notes=payload)
    make_response(customer=case.customer, text=payload, event_status="closed")
    ActivityFactory(case=case, notes=payload)
    TaskFactory(case=case, title=XSS[0], notes=payload)
    OfferFactory(case=case, description=XSS[1])
    InteractionFactory(
        customer=case.customer, occurred_at=case.event.detected_at - dt.timedelta(days=1), summary=payload
    )
    history.record(case, CaseEvent.Kind.NOTE, payload, actor=case.owner)
    client.force_login(case.owner)
    html = client.get(_url(case)).content.decode()
    for raw, escaped in ESCAPED.items():
        assert escaped in html, raw
    assert "<script>alert(1)</script>" not in html
    assert "<img src=x onerror" not in html
    assert "{{7*7}}" in html  # shown as typed, never rendered as a template
