import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers import services
from customers.models import Customer, Interaction
from customers.tests.factories import CustomerFactory, InteractionFactory, SegmentFactory
from winback.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2024, 5, 6, 10, 0, tzinfo=dt.UTC)


def _create(actor, **overrides):
    values = {
        "actor": actor,
        "external_id": "000123",
        "name": "Greta Vollmer",
        "email": "greta@example.org",
        "phone": "+49 30 1234567",
        "company": "Vollmer Bau",
        "segment": SegmentFactory(name="Retail"),
        "account_manager": actor,
        "language": "en",
        "do_not_contact": False,
        "preferred_channel": Customer.Channel.EMAIL,
        "contact_notes": "",
    }
    values.update(overrides)
    return services.customer_create(**values)


def _updates_in(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith("UPDATE")]


def test_a_new_customer_keeps_its_id_as_typed_without_the_surrounding_whitespace(manager):
    customer = _create(manager, external_id="  007 A-1/x \t")
    customer.refresh_from_db()
    assert customer.external_id == "007 A-1/x"
    assert customer.account_manager == manager
    assert customer.preferred_channel == Customer.Channel.EMAIL


def test_creating_a_customer_with_a_taken_id_is_refused(manager):
    _create(manager, external_id="000123")
    with pytest.raises(ValidationError) as error:
        _create(manager, external_id="000123")
    assert "external_id" in error.value.message_dict
    assert Customer.objects.count() == 1


def test_ids_that_differ_only_in_leading_zeros_are_different_customers(manager):
    _create(manager, external_id="123")
    _create(manager, external_id="0123")
    assert set(Customer.objects.values_list("external_id", flat=True)) == {"123", "0123"}


def test_a_customer_needs_a_language_from_the_settings(manager):
    with pytest.raises(ValidationError) as error:
        _create(manager, language="xx")
    assert "language" in error.value.message_dict
    assert not Customer.objects.exists()


@pytest.mark.parametrize("bad_manager", ["executive", "inactive"])
def test_only_an_active_account_manager_can_look_after_a_customer(administrator, executive, bad_manager):
    user = executive if bad_manager == "executive" else UserFactory(role="Account managers", is_active=False)
    with pytest.raises(ValidationError) as error:
        _create(administrator, account_manager=user)
    assert "account_manager" in error.value.message_dict
    assert not Customer.objects.exists()


def test_updating_details_writes_only_the_fields_that_changed(manager):
    customer = CustomerFactory(account_manager=manager, name="Old name", phone="111")
    long_ago = timezone.now() - dt.timedelta(days=400)
    Customer.objects.filter(pk=customer.pk).update(status_changed_at=long_ago)
    customer.refresh_from_db()

    with CaptureQueriesContext(connection) as queries:
        services.customer_update(customer=customer, actor=manager, name="New name", phone="111")

    (update,) = _updates_in(queries.captured_queries)
    assert '"name"' in update
    assert '"phone"' not in update
    assert '"status_changed_at"' not in update
    customer.refresh_from_db()
    assert customer.name == "New name"
    assert customer.status_changed_at == long_ago


def test_updating_with_nothing_changed_writes_nothing(manager):
    customer = CustomerFactory(account_manager=manager)
    with CaptureQueriesContext(connection) as queries:
        services.customer_update(customer=customer, actor=manager, name=customer.name, email=customer.email)
    assert _updates_in(queries.captured_queries) == []


def test_details_update_cannot_touch_the_id_or_the_status(manager):
    customer = CustomerFactory(account_manager=manager)
    with pytest.raises(TypeError):
        services.customer_update(customer=customer, actor=manager, external_id="X1")
    with pytest.raises(TypeError):
        services.customer_update(customer=customer, actor=manager, status=Customer.Status.LOST)


def test_an_invalid_email_in_an_update_is_refused_and_not_saved(manager):
    customer = CustomerFactory(account_manager=manager, email="good@example.org")
    with pytest.raises(ValidationError):
        services.customer_update(customer=customer, actor=manager, email="not an email")
    customer.refresh_from_db()
    assert customer.email == "good@example.org"


def test_contact_preferences_are_saved(manager):
    customer = CustomerFactory(account_manager=manager)
    services.customer_set_preferences(
        customer=customer,
        actor=manager,
        do_not_contact=True,
        preferred_channel=Customer.Channel.POST,
        contact_notes="no phone calls",
    )
    customer.refresh_from_db()
    assert customer.do_not_contact
    assert customer.preferred_channel == Customer.Channel.POST
    assert customer.contact_notes == "no phone calls"


def test_an_administrator_hands_a_customer_to_another_manager(administrator, manager, other_manager):
    customer = CustomerFactory(account_manager=manager)
    services.customer_assign_manager(customer=customer, actor=administrator, account_manager=other_manager)
    customer.refresh_from_db()
    assert customer.account_manager == other_manager
    services.customer_assign_manager(customer=customer, actor=administrator, account_manager=None)
    customer.refresh_from_db()
    assert customer.account_manager is None


def test_a_manager_cannot_hand_a_customer_to_someone_else(manager, other_manager):
    customer = CustomerFactory(account_manager=manager)
    with pytest.raises(PermissionDenied):
        services.customer_assign_manager(customer=customer, actor=manager, account_manager=other_manager)
    customer.refresh_from_db()
    assert customer.account_manager == manager


def test_a_customer_cannot_be_handed_to_an_executive(administrator, executive):
    customer = CustomerFactory()
    with pytest.raises(ValidationError):
        services.customer_assign_manager(customer=customer, actor=administrator, account_manager=executive)
    customer.refresh_from_db()
    assert customer.account_manager is None


def test_an_interaction_with_a_due_date_awaits_an_answer(manager, other_manager):
    customer = CustomerFactory()
    occurred = NOW - dt.timedelta(hours=2)
    interaction = services.interaction_create(
        customer=customer,
        actor=manager,
        occurred_at=occurred,
        channel=Interaction.Channel.PHONE,
        kind=Interaction.Kind.COMPLAINT,
        summary="  Parcel arrived broken.  ",
        owner=other_manager,
        due_at=NOW + dt.timedelta(days=2),
    )
    interaction.refresh_from_db()
    assert interaction.status == Interaction.Status.OPEN
    assert interaction.resolved_at is None
    assert interaction.owner == other_manager
    assert interaction.created_by == manager
    assert interaction.summary == "Parcel arrived broken."


def test_an_interaction_without_a_due_date_is_resolved_when_it_happened(manager):
    occurred = NOW - dt.timedelta(days=1)
    interaction = services.interaction_create(
        customer=CustomerFactory(),
        actor=manager,
        occurred_at=occurred,
        channel=Interaction.Channel.EMAIL,
        kind=Interaction.Kind.PRAISE,
        summary="Loves the new catalogue.",
        owner=manager,
    )
    interaction.refresh_from_db()
    assert interaction.status == Interaction.Status.RESOLVED
    assert interaction.resolved_at == occurred


def test_an_interaction_needs_a_summary_and_a_known_kind(manager):
    base = {
        "customer": CustomerFactory(),
        "actor": manager,
        "occurred_at": NOW,
        "channel": Interaction.Channel.EMAIL,
        "owner": manager,
    }
    with pytest.raises(ValidationError):
        services.interaction_create(**base, kind=Interaction.Kind.CALL, summary="   ")
    with pytest.raises(ValidationError):
        services.interaction_create(**base, kind="gossip", summary="Something")
    assert not Interaction.objects.exists()


def test_resolving_an_open_interaction_records_when(manager):
    interaction = InteractionFactory(status=Interaction.Status.OPEN, owner=manager, due_at=NOW)
    with time_machine.travel(NOW, tick=False):
        services.interaction_resolve(interaction=interaction, actor=manager)
    interaction.refresh_from_db()
    assert interaction.status == Interaction.Status.RESOLVED
    assert interaction.resolved_at == NOW


def test_resolving_twice_keeps_the_first_time(manager):
    interaction = InteractionFactory(status=Interaction.Status.OPEN, owner=manager, due_at=NOW)
    stale_copy = Interaction.objects.get(pk=interaction.pk)  # loaded by a second person, still open
    with time_machine.travel(NOW, tick=False):
        services.interaction_resolve(interaction=interaction, actor=manager)
    with time_machine.travel(NOW + dt.timedelta(days=3), tick=False):
        services.interaction_resolve(interaction=stale_copy, actor=manager)
        services.interaction_resolve(interaction=interaction, actor=manager)
    interaction.refresh_from_db()
    assert interaction.resolved_at == NOW
    assert stale_copy.resolved_at == NOW
