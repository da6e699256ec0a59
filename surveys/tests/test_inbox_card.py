"""The survey answers panel on the customer card: the latest responses with reason, fault,
reviewed state, an escaped excerpt, a link to the response page and the replies sent; one query."""

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Fault, Reason
from customers.tests.factories import CustomerFactory
from surveys.card import CARD_RESPONSES, responses_panel
from surveys.models import ResponseReply
from surveys.services.review import response_set_reason
from surveys.tests.test_inbox_support import make_response, new_survey


def _card(client, customer) -> str:
    return client.get(reverse("customers:detail", args=[customer.pk])).content.decode()


def test_a_customer_without_answers_shows_the_empty_state(manager_client, django_assert_num_queries):
    customer = CustomerFactory()
    with django_assert_num_queries(1):
        context = responses_panel(customer, None)
    assert context == {"responses": []}
    assert "No survey answers yet." in _card(manager_client, customer)


@pytest.mark.parametrize("role_user", ["manager", "executive", "administrator"], indirect=True)
def test_the_card_shows_the_responses_with_reason_fault_state_excerpt_and_link(client, role_user, administrator):
    customer = CustomerFactory()
    response = make_response(customer=customer, reason=Reason.PRICE, text="Your <b>prices</b>\ndoubled " + "x" * 300)
    response_set_reason(response=response, reason=Reason.SERVICE, fault=Fault.OURS, actor=administrator)
    ResponseReply.objects.create(
        response=response,
        kind="close_loop",
        subject="s",
        body="b",
        message_id="<1@x>",
        status="sent",
        sent_at=timezone.now(),
    )
    client.force_login(role_user)
    html = _card(client, customer)
    assert f'href="{reverse("surveys:response_detail", args=[response.pk])}"' in html
    assert "Price / competitor offer" in html
    assert "Confirmed: Service · Our fault" in html
    assert "Reviewed" in html
    assert "Your &lt;b&gt;prices&lt;/b&gt;\ndoubled xxx" in html
    assert "<b>prices" not in html
    assert "x" * 200 not in html  # an excerpt, not the whole answer
    assert f"Replied {timezone.localdate():%Y-%m-%d}: what we changed" in html
    assert "No survey answers yet." not in html


def test_the_panel_shows_the_latest_responses_in_one_query(db, django_assert_num_queries):
    customer = CustomerFactory()
    survey = new_survey()
    for _ in range(CARD_RESPONSES + 2):
        make_response(customer=customer, survey=survey, event_status="closed", text="Words " * 200)
    with django_assert_num_queries(1):
        context = responses_panel(customer, None)
        excerpts = [response.excerpt for response in context["responses"]]
        events = [response.invitation.event.fault for response in context["responses"]]
        replied = [response.replied_at for response in context["responses"]]
    assert len(excerpts) == CARD_RESPONSES
    assert all(excerpt.startswith("Words") for excerpt in excerpts)
    assert events == [Fault.UNKNOWN] * CARD_RESPONSES
    assert replied == [None] * CARD_RESPONSES


def test_a_new_response_is_marked_new_and_unconfirmed(manager_client):
    customer = CustomerFactory()
    make_response(customer=customer, text="")
    html = _card(manager_client, customer)
    assert "New" in html
    assert "Reason not confirmed" in html
