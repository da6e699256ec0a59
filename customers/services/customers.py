"""Writes for customers and interactions (create, edit, contact preferences, account manager,
logging and resolving interactions)."""

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers import policy
from customers.detection.stale import note_interactions
from customers.models import Customer, Interaction, Segment
from winback.roles import Role

__all__ = [
    "CUSTOMER_DETAIL_FIELDS",
    "customer_assign_manager",
    "customer_create",
    "customer_set_preferences",
    "customer_update",
    "interaction_create",
    "interaction_resolve",
]

CUSTOMER_DETAIL_FIELDS = ("name", "email", "phone", "company", "segment", "language")


def _check_language(language: str) -> None:
    if language not in dict(settings.LANGUAGES):
        raise ValidationError({"language": _("Choose one of the languages the surveys are written in.")})


def _check_account_manager(user) -> None:
    """Only an active member of the Account managers group may look after customers (one query)."""
    if user is None:
        return
    if not (user.is_active and user.groups.filter(name=Role.ACCOUNT_MANAGER.value).exists()):
        raise ValidationError({"account_manager": _("Choose an active account manager.")})


def _save_changes(instance, changes: dict[str, Any]) -> list[str]:
    """Sets the values that differ, validates just those and saves only them; returns their names."""
    changed = [name for name, value in changes.items() if getattr(instance, name) != value]
    if not changed:
        return []
    for name in changed:
        setattr(instance, name, changes[name])
    # Related objects arrive as loaded instances: checking that they exist would only cost queries.
    checked = [name for name in changed if not instance._meta.get_field(name).is_relation]
    instance.full_clean(exclude=[f.name for f in instance._meta.concrete_fields if f.name not in checked])
    update_fields = list(changed)
    if any(f.name == "updated_at" for f in instance._meta.concrete_fields):
        update_fields.append("updated_at")
    instance.save(update_fields=update_fields)
    return changed


@transaction.atomic
def customer_create(
    *,
    actor,
    external_id: str,
    name: str,
    email: str,
    phone: str,
    company: str,
    segment: Segment | None,
    account_manager,
    language: str,
    do_not_contact: bool,
    preferred_channel: str,
    contact_notes: str,
) -> Customer:
    """Creates a customer entered by hand. The external id is kept as typed apart from
    surrounding whitespace (ids like "000123" stay as they are); it must be new."""
    _check_language(language)
    _check_account_manager(account_manager)
    customer = Customer(
        external_id=external_id.strip(),
        name=name,
        email=email,
        phone=phone,
        company=company,
        segment=segment,
        account_manager=account_manager,
        language=language,
        do_not_contact=do_not_contact,
        preferred_channel=preferred_channel,
        contact_notes=contact_notes,
    )
    customer.full_clean(exclude=["status_changed_at"])
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError as error:  # someone saved the same id since full_clean looked
        raise ValidationError({"external_id": _("A customer with this id already exists.")}) from error
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, actor, **fields: Any) -> Customer:
    """Changes a customer's details (name, email, phone, company, segment, language); only the
    fields whose value differs are written."""
    unknown = set(fields) - set(CUSTOMER_DETAIL_FIELDS)
    if unknown:
        raise TypeError(f"customer_update() cannot change {', '.join(sorted(unknown))}")
    if "language" in fields:
        _check_language(fields["language"])
    _save_changes(customer, fields)
    return customer


@transaction.atomic
def customer_set_preferences(
    *, customer: Customer, actor, do_not_contact: bool, preferred_channel: str, contact_notes: str
) -> Customer:
    """Records how (and whether) the customer wishes to be contacted."""
    _save_changes(
        customer,
        {"do_not_contact": do_not_contact, "preferred_channel": preferred_channel, "contact_notes": contact_notes},
    )
    return customer


@transaction.atomic
def customer_assign_manager(*, customer: Customer, actor, account_manager) -> Customer:
    """Hands the customer to another account manager (or to nobody). Administrators only."""
    if not policy.can_assign_manager(actor):
        raise PermissionDenied
    if customer.account_manager_id != (account_manager.pk if account_manager else None):
        _check_account_manager(account_manager)
        _save_changes(customer, {"account_manager": account_manager})
    return customer


@transaction.atomic
def interaction_create(
    *,
    customer: Customer,
    actor,
    occurred_at: dt.datetime,
    channel: str,
    kind: str,
    summary: str,
    owner,
    due_at: dt.datetime | None = None,
) -> Interaction:
    """Logs a contact with the customer. With a due date it awaits an answer from the owner;
    without one it is a record of something already dealt with."""
    summary = summary.strip()
    if not summary:
        raise ValidationError({"summary": _("Describe what the customer said or wanted.")})
    interaction = Interaction(
        customer=customer,
        occurred_at=occurred_at,
        channel=channel,
        kind=kind,
        summary=summary,
        owner=owner,
        due_at=due_at,
        created_by=actor,
    )
    if due_at is None:
        interaction.status = Interaction.Status.RESOLVED
        interaction.resolved_at = occurred_at
    else:
        interaction.status = Interaction.Status.OPEN
    interaction.full_clean(exclude=["customer", "owner", "created_by"])
    interaction.save()
    note_interactions(Customer.objects.filter(pk=customer.pk))
    return interaction


@transaction.atomic
def interaction_resolve(*, interaction: Interaction, actor) -> Interaction:
    """Marks an interaction as answered now; resolving it again changes nothing."""
    # Lock the row so two people pressing "Resolve" at once keep the first time.
    locked = Interaction.objects.select_for_update().only("status", "resolved_at").get(pk=interaction.pk)
    if locked.status == Interaction.Status.RESOLVED:
        interaction.status, interaction.resolved_at = locked.status, locked.resolved_at
        return interaction
    interaction.status = Interaction.Status.RESOLVED
    interaction.resolved_at = timezone.now()
    interaction.save(update_fields=["status", "resolved_at"])
    return interaction
