"""The panels the surveys app adds to the customer card: the customer's survey responses and
their email deliverability (suppression, bounces). Registered from SurveysConfig.ready()."""

from customers.card_panels import CardPanel, register
from surveys.models import Response
from surveys.views.inbox_queries import last_close_loop_sent, open_text_excerpt

CARD_RESPONSES = 5


def responses_panel(customer, user) -> dict:
    """The customer's latest responses with the reason given, the defection's confirmed reason and
    fault, the reviewed state, an excerpt of their words and when the loop was closed (one query)."""
    responses = list(
        Response.objects.filter(customer=customer)
        .select_related("invitation__event")
        .annotate(excerpt=open_text_excerpt(), replied_at=last_close_loop_sent())
        .order_by("-submitted_at", "-id")[:CARD_RESPONSES]
    )
    return {"responses": responses}


register(CardPanel(name="survey_responses", template="surveys/_card_responses.html", context=responses_panel, order=10))
