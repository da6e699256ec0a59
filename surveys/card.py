"""The panels the surveys app adds to the customer card: the customer's survey responses and
their email deliverability (suppression, bounces). Registered from SurveysConfig.ready()."""

from customers.card_panels import CardPanel, register
from surveys.models import Response


def responses_panel(customer, user) -> dict:
    responses = list(Response.objects.filter(customer=customer).order_by("-submitted_at", "-id")[:5])
    return {"responses": responses}


register(CardPanel(name="survey_responses", template="surveys/_card_responses.html", context=responses_panel, order=10))
