import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from customers.models import Customer, ImportRun, Interaction, Segment, Transaction


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Segment
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Segment {n}")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    external_id = factory.Sequence(lambda n: f"C{n:06d}")
    name = factory.Faker("name")
    email = factory.LazyAttribute(lambda c: f"{c.external_id.lower()}@example.org")
    phone = factory.Faker("numerify", text="+49 30 #######")
    company = factory.Faker("company")
    segment = factory.SubFactory(SegmentFactory, name="Retail")
    language = "en"


class TransactionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Transaction

    customer = factory.SubFactory(CustomerFactory)
    external_id = factory.Sequence(lambda n: f"T{n:08d}")
    occurred_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=10))
    amount = Decimal("100.00")
    kind = Transaction.Kind.PURCHASE


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    customer = factory.SubFactory(CustomerFactory)
    occurred_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=3))
    channel = Interaction.Channel.EMAIL
    kind = Interaction.Kind.COMPLAINT
    summary = factory.Faker("sentence")


class ImportRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ImportRun

    kind = ImportRun.Kind.CUSTOMERS
    file_name = "customers.csv"
