"""Helpers for the reviewer inbox tests (no tests here): responses with answers, the reply email
templates, and the designated reviewer."""

import datetime as dt

from django.utils import timezone

from customers.models import Reason
from customers.tests.factories import CustomerFactory
from surveys.models import EmailTemplate, Question, Survey, SurveySettings
from surveys.tests.factories import AnswerFactory, DefectionEventFactory, ResponseFactory, SurveyFactory

CLOSE_LOOP_BODY = (
    "Dear {{ first_name }},\n\nYou told us: {{ what_you_told_us }}\n\n"
    "Here is what we changed: {{ what_we_changed }}\n\n{{ signer_name }}"
)
RETURN_BODY = "Dear {{ first_name }},\n\nWe fixed it. Our offer: {{ offer }}\n\n{{ signer_name }}"


def reply_templates(language: str = "en") -> None:
    """The close-the-loop and return templates with known texts (the shipped ones may differ)."""
    EmailTemplate.objects.update_or_create(
        kind=EmailTemplate.Kind.CLOSE_LOOP,
        language=language,
        defaults={"subject": "{{ first_name }}, what we changed", "body": CLOSE_LOOP_BODY},
    )
    EmailTemplate.objects.update_or_create(
        kind=EmailTemplate.Kind.RETURN,
        language=language,
        defaults={"subject": "Come back, {{ first_name }}", "body": RETURN_BODY},
    )


def new_survey(language: str = "en") -> Survey:
    """A five-question survey that is not the active one (the data migration ships those)."""
    return SurveyFactory(is_active=False, language=language)


def make_response(
    *,
    customer=None,
    text: str = "The delivery was late twice.",
    reason: str = Reason.PRICE,
    language: str = "en",
    submitted_at: dt.datetime | None = None,
    survey: Survey | None = None,
    event_status: str = "open",
    **fields,
):
    """A response with an open-text answer (when `text`) to a survey of its own unless given."""
    customer = customer or CustomerFactory(status="defected")
    survey = survey or new_survey(language)
    event = DefectionEventFactory(customer=customer, status=event_status)
    response = ResponseFactory(
        invitation__event=event,
        invitation__survey=survey,
        invitation__language=language,
        language=language,
        stated_reason=reason,
        submitted_at=submitted_at or timezone.now(),
        **fields,
    )
    if text:
        AnswerFactory(response=response, question=survey.questions.get(kind=Question.Kind.OPEN_TEXT), text=text)
    return response


def designate_reviewer(user) -> SurveySettings:
    survey_settings = SurveySettings.load()
    survey_settings.reviewer = user
    survey_settings.save()
    return survey_settings
