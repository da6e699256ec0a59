"""Factories for the cases app. `CaseFactory` makes a defected customer owned by a new account
manager (pass `owner=None` for the unassigned pool), its open defection event, and the case with
deadlines two and twenty working days out."""

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from cases.models import Activity, Case, CorrectiveAction, Offer, Stage, Task
from cases.workdays import add_working_days
from customers.models import Reason
from customers.tests.factories import CustomerFactory
from surveys.tests.factories import DefectionEventFactory
from winback.tests.factories import UserFactory


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case
        skip_postgeneration_save = True

    owner = factory.SubFactory(UserFactory, role="Account managers")
    customer = factory.SubFactory(
        CustomerFactory, status="defected", account_manager=factory.SelfAttribute("..owner"), annual_value=2400
    )
    event = factory.SubFactory(
        DefectionEventFactory, customer=factory.SelfAttribute("..customer"), lost_revenue=Decimal("2400")
    )
    segment = factory.LazyAttribute(lambda case: case.customer.segment)
    stage = Stage.NEW
    is_open = True
    opened_at = factory.LazyFunction(timezone.now)
    value_at_stake = factory.LazyAttribute(lambda case: case.event.lost_revenue if case.event else Decimal("2400"))
    first_contact_due = factory.LazyAttribute(lambda case: add_working_days(case.opened_at, 2, holidays=set()))
    due_at = factory.LazyAttribute(lambda case: add_working_days(case.opened_at, 20, holidays=set()))
    deadline_at = factory.LazyAttribute(lambda case: case.first_contact_due)

    @factory.post_generation
    def followers(self, create, extracted, **kwargs):
        if create and extracted:
            self.followers.add(*extracted)


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offer

    case = factory.SubFactory(CaseFactory)
    kind = Offer.Kind.DISCOUNT
    value = Decimal("15")
    cost = Decimal("120")
    expires_on = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=14))
    created_by = factory.LazyAttribute(lambda offer: offer.case.owner)


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task

    case = factory.SubFactory(CaseFactory)
    title = "Call back"
    assignee = factory.LazyAttribute(lambda task: task.case.owner)
    due_on = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=2))
    created_by = factory.LazyAttribute(lambda task: task.case.owner)


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    case = factory.SubFactory(CaseFactory)
    kind = Activity.Kind.CALL
    actor = factory.LazyAttribute(lambda activity: activity.case.owner)
    apologised = True
    listened = True
    notes = "Talked it through."


class CorrectiveActionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CorrectiveAction

    title = factory.Sequence(lambda n: f"Fix delivery times {n}")
    reason = Reason.DELIVERY
    owner = factory.SubFactory(UserFactory, role="Account managers")
    department = "Logistics"
    deadline = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=30))
    created_by = factory.LazyAttribute(lambda action: action.owner)
