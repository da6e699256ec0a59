"""Factories for the surveys app. `SurveyFactory` builds a complete five-question survey (one of
each kind) unless `questions=False`; `InvitationFactory` makes its own open defection event."""

import datetime as dt

import factory
from django.utils import timezone

from customers.models import DefectionEvent, Reason
from customers.tests.factories import CustomerFactory
from surveys.mail import new_message_id
from surveys.models import Answer, EmailTemplate, Invitation, Option, Question, Response, Survey


class DefectionEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DefectionEvent

    customer = factory.SubFactory(CustomerFactory, status="defected")
    kind = DefectionEvent.Kind.PASSIVE
    detected_at = factory.LazyFunction(timezone.now)
    as_of = factory.LazyFunction(timezone.localdate)
    status_changed_at = factory.LazyFunction(timezone.now)
    last_purchase_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=200))
    lost_revenue = 1200


def add_standard_questions(survey: Survey) -> None:
    """One question of each kind, in order: reason (single choice), what else (multiple choice),
    rating, open text, contact consent."""
    reason = Question.objects.create(survey=survey, position=1, kind=Question.Kind.SINGLE_CHOICE, text="Main reason?")
    for position, value in enumerate([Reason.PRICE, Reason.SERVICE, Reason.OTHER], start=1):
        Option.objects.create(question=reason, position=position, label=value.label, reason=value)
    also = Question.objects.create(survey=survey, position=2, kind=Question.Kind.MULTIPLE_CHOICE, text="What else?")
    for position, label in enumerate(["Delivery", "Billing"], start=1):
        Option.objects.create(question=also, position=position, label=label)
    Question.objects.create(
        survey=survey, position=3, kind=Question.Kind.RATING, text="Rate us", low_label="Poor", high_label="Great"
    )
    Question.objects.create(
        survey=survey, position=4, kind=Question.Kind.OPEN_TEXT, text="What should we have done differently?"
    )
    Question.objects.create(survey=survey, position=5, kind=Question.Kind.CONTACT_CONSENT, text="May we contact you?")


class SurveyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Survey

    title = factory.Sequence(lambda n: f"Exit survey {n}")
    language = "en"
    introduction = "Please help us understand what went wrong."
    is_active = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        """A new survey in use takes the language's current one (e.g. the shipped default) out of use."""
        if kwargs.get("is_active", True):
            Survey.objects.filter(language=kwargs.get("language", "en"), is_active=True).update(is_active=False)
        return super()._create(model_class, *args, **kwargs)

    @factory.post_generation
    def questions(self, create, extracted, **kwargs):
        if create and extracted is not False:
            add_standard_questions(self)


class EmailTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmailTemplate
        django_get_or_create = ("kind", "language")

    kind = EmailTemplate.Kind.INVITATION
    language = "en"
    subject = "{{ first_name }}, what went wrong?"
    body = "Dear {{ first_name }},\n\nPlease tell us: {{ survey_url }}\n\n{{ signer_name }}"


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    event = factory.SubFactory(DefectionEventFactory)
    customer = factory.SelfAttribute("event.customer")
    survey = factory.SubFactory(SurveyFactory)
    language = "en"
    signer_name = "Anna Manager"
    reviewer_name = "Rita Reviewer"
    message_id = factory.LazyFunction(new_message_id)


class ResponseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Response

    invitation = factory.SubFactory(InvitationFactory, status="sent")
    customer = factory.SelfAttribute("invitation.customer")
    survey = factory.SelfAttribute("invitation.survey")
    language = "en"
    stated_reason = Reason.PRICE


class AnswerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Answer

    response = factory.SubFactory(ResponseFactory)
    question = factory.LazyAttribute(lambda a: a.response.survey.questions.get(kind=Question.Kind.OPEN_TEXT))
    text = "The delivery was late twice."
