"""Reads of the audit trail: one object's entries (case page, customer card) and the filtered list
of the staff page. Entries are decorated with their actor and readable changes without a query
per entry."""

import datetime as dt

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from winback.audit.models import Entry

# What the triggers of migration 0002 record, as shown in the staff page's filter.
KINDS = {
    "customers.customer": _("Customer contact preferences"),
    "cases.case": _("Case"),
    "cases.case_followers": _("Case followers"),
    "cases.offer": _("Offer"),
    "cases.task": _("Task"),
    "cases.activity": _("Case activity"),
    "cases.correctiveaction": _("Corrective action"),
    "cases.casesettings": _("Case settings"),
    "surveys.survey": _("Survey"),
    "surveys.question": _("Survey question"),
    "surveys.option": _("Survey option"),
    "surveys.emailtemplate": _("Email template"),
    "surveys.surveysettings": _("Survey settings"),
    "auth.user": _("User"),
    "auth.user_groups": _("User role"),
    "privacy.customer": _("Data-subject request (export, erasure)"),
}
HIDDEN_ON_CREATE = {"id"}


def entries_for(obj, limit: int = 20) -> list[Entry]:
    """The newest entries about a customer (its preferences, its cases and their offers, tasks and
    activities), a case (the case and its offers, tasks, activities, followers) or any tracked
    object. Two queries: the entries (index-backed) and their actors."""
    label = obj._meta.label_lower
    if label == "customers.customer":
        entries = Entry.objects.filter(customer_id=obj.pk)
    elif label == "cases.case":
        entries = Entry.objects.filter(case_id=obj.pk)
    else:
        entries = Entry.objects.filter(kind=label, object_id=obj.pk)
    return decorate(list(entries.order_by("-created_at", "-id")[:limit]))


def entry_list(
    *,
    kind: str = "",
    object_id: int | None = None,
    actor_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet:
    """The staff page's entries, newest first; dates are days in the business time zone."""
    entries = Entry.objects.order_by("-created_at", "-id")
    if kind:
        entries = entries.filter(kind=kind)
    if object_id is not None:
        entries = entries.filter(object_id=object_id)
    if actor_id is not None:
        entries = entries.filter(actor_id=actor_id)
    if date_from:
        entries = entries.filter(created_at__gte=_start_of(date_from))
    if date_to:
        entries = entries.filter(created_at__lt=_start_of(date_to + dt.timedelta(days=1)))
    return entries


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def decorate(entries: list[Entry]) -> list[Entry]:
    """Sets entry.actor (a user or None), entry.kind_label and entry.changes [(field, before,
    after)] — one query for all the actors."""
    actor_ids = {entry.actor_id for entry in entries if entry.actor_id is not None}
    users = get_user_model().objects.in_bulk(actor_ids) if actor_ids else {}
    for entry in entries:
        entry.actor = users.get(entry.actor_id)
        entry.kind_label = KINDS.get(entry.kind, entry.kind)
        entry.changes = changes_of(entry)
    return entries


def changes_of(entry: Entry) -> list[tuple[str, object, object]]:
    before, after = entry.before or {}, entry.after or {}
    keys = sorted(set(before) | set(after))
    if entry.action == Entry.Action.INSERT:
        keys = [key for key in keys if key not in HIDDEN_ON_CREATE]
    return [(field_label(entry.kind, key), before.get(key), after.get(key)) for key in keys]


def field_label(kind: str, column: str) -> str:
    """The model field's verbose name for a recorded column, else the column."""
    app_label, _dot, model_name = kind.partition(".")
    model_name = model_name.split("_")[0]
    try:
        model = apps.get_model(app_label, model_name)
    except LookupError:
        return column
    for name in (column, column.removesuffix("_id")):
        try:
            return str(model._meta.get_field(name).verbose_name)
        except FieldDoesNotExist:
            continue
    return column
