"""The data inventory: every table that holds personal data about a customer, how to find that
customer's rows, and what erasure does to each. One list, read by the export (PRIV-04) and by
erasure (PRIV-05), so that a table added to one cannot be forgotten by the other
(docs/privacy.md lists it as a table).

Each category is one CSV in the export and one key of `customer.json`. Erasure writes `blank`
(column -> value) on the customer's rows, then cuts the customer's identifiers (name, email,
phone, external id) out of the `scrub` columns, which hold text written by staff that may quote
them. Steps that are more than that (the customer row itself, invitations, the audit trail) are
named in `step` and done by winback.privacy.erasure.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q

from cases.models import Activity, Case, CaseEvent, CorrectiveAction, Offer, Task
from customers.models import (
    Customer,
    DefectionEvent,
    Dismissal,
    Interaction,
    ReasonChange,
    StatusChange,
    Transaction,
)
from surveys.models import Answer, EmailEvent, Invitation, Response, ResponseReply, Suppression
from surveys.suppression import email_hash
from winback.audit.models import Entry

__all__ = ["CATEGORIES", "Category", "PREFERENCE_FIELDS", "by_name"]

PREFERENCE_FIELDS = ("id", "do_not_contact", "preferred_channel", "contact_notes", "survey_opt_out_at", "language")


def plain(model: type[models.Model]) -> models.QuerySet:
    """A plain QuerySet of the model: erasure may write to tables whose managers refuse bulk
    changes to the application (the case history), and the export reads them the same way."""
    return models.QuerySet(model=model)


@dataclass(frozen=True)
class Category:
    name: str  # the CSV's name and the key in customer.json
    label: str
    model: type[models.Model]
    rows: Callable[[Customer], models.QuerySet]  # the customer's rows
    fields: tuple[str, ...] = ()  # exported columns; () = every column of the table
    blank: dict = field(default_factory=dict)  # erasure: column -> value written on every row
    scrub: tuple[str, ...] = ()  # erasure: text / JSON columns the identifiers are cut out of
    step: str = ""  # erasure: done by its own step in winback.privacy.erasure

    def columns(self) -> list[str]:
        return list(self.fields) or [f.attname for f in self.model._meta.concrete_fields]


def _cases(customer) -> models.QuerySet:
    return plain(Case).filter(customer_id=customer.pk).values("pk")


def _suppressions(customer) -> models.QuerySet:
    condition = Q(customer_id=customer.pk)
    if customer.email:
        condition |= Q(email_hash=email_hash(customer.email))
    return plain(Suppression).filter(condition)


def _audit(customer) -> models.QuerySet:
    # Rows about the customer: its preferences and its cases, offers, tasks, activities and
    # followers (customer_id), plus corrective actions started from its cases (case_id only).
    return plain(Entry).filter(Q(customer_id=customer.pk) | Q(case_id__in=_cases(customer)))


def _admin_log(customer) -> models.QuerySet:
    """Admin log entries about the customer and the objects whose names quote them."""
    """Admin log entries about the customer and the objects whose names quote them."""
    condition = Q(content_type=ContentType.objects.get_for_model(Customer), object_id=str(customer.pk))
    for model, ids in (
        (Interaction, plain(Interaction).filter(customer_id=customer.pk)),
        (Task, plain(Task).filter(case__customer_id=customer.pk)),
    ):
        condition |= Q(
            content_type=ContentType.objects.get_for_model(model),
            object_id__in=[str(pk) for pk in ids.values_list("pk", flat=True)[:10_000]],
        )
    return plain(LogEntry).filter(condition)


CATEGORIES: list[Category] = [
    Category("record", "Customer record", Customer, lambda c: plain(Customer).filter(pk=c.pk), step="record"),
    Category(
        "preferences",
        "Contact preferences",
        Customer,
        lambda c: plain(Customer).filter(pk=c.pk),
        fields=PREFERENCE_FIELDS,
        step="record",
    ),
    Category(
        "purchases",
        "Purchases and refunds",
        Transaction,
        lambda c: plain(Transaction).filter(customer_id=c.pk),
        blank={"external_id": None},
    ),
    Category(
        "defections",
        "Defections",
        DefectionEvent,
        lambda c: plain(DefectionEvent).filter(customer_id=c.pk),
        scrub=("closed_reason",),
    ),
    Category("status_changes", "Status history", StatusChange, lambda c: plain(StatusChange).filter(customer_id=c.pk)),
    Category(
        "dismissals",
        "Dismissed alarms",
        Dismissal,
        lambda c: plain(Dismissal).filter(customer_id=c.pk),
        blank={"note": ""},
    ),
    Category(
        "interactions",
        "Interactions",
        Interaction,
        lambda c: plain(Interaction).filter(customer_id=c.pk),
        blank={"summary": ""},
    ),
    Category(
        "invitations",
        "Survey invitations",
        Invitation,
        lambda c: plain(Invitation).filter(customer_id=c.pk),
        blank={"last_error": ""},
        step="invitations",
    ),
    Category(
        "email_events",
        "Email (deliverability) events",
        EmailEvent,
        lambda c: plain(EmailEvent).filter(Q(customer_id=c.pk) | Q(invitation__customer_id=c.pk)),
        blank={"description": ""},
    ),
    Category("responses", "Survey responses", Response, lambda c: plain(Response).filter(customer_id=c.pk)),
    Category(
        "answers",
        "Survey answers",
        Answer,
        lambda c: plain(Answer).filter(response__customer_id=c.pk),
        blank={"text": ""},
    ),
    Category(
        "replies",
        "Replies to survey answers",
        ResponseReply,
        lambda c: plain(ResponseReply).filter(response__customer_id=c.pk),
        blank={"subject": "", "body": "", "offer": "", "last_error": ""},
    ),
    Category(
        "reason_changes",
        "Reason reviews",
        ReasonChange,
        lambda c: plain(ReasonChange).filter(event__customer_id=c.pk),
        blank={"note": ""},
    ),
    Category(
        "cases",
        "Win-back cases",
        Case,
        lambda c: plain(Case).filter(customer_id=c.pk),
        blank={"close_note": ""},
    ),
    Category(
        "case_history",
        "Case history and notes",
        CaseEvent,
        lambda c: plain(CaseEvent).filter(case__customer_id=c.pk),
        scrub=("summary", "before", "after"),
        step="case_history",
    ),
    Category(
        "activities",
        "Calls, meetings and emails",
        Activity,
        lambda c: plain(Activity).filter(case__customer_id=c.pk),
        blank={"notes": "", "to_email": "", "subject": "", "body": "", "channel_warning": ""},
    ),
    Category(
        "offers",
        "Offers",
        Offer,
        lambda c: plain(Offer).filter(case__customer_id=c.pk),
        blank={"description": ""},
    ),
    Category(
        "tasks",
        "Tasks",
        Task,
        lambda c: plain(Task).filter(case__customer_id=c.pk),
        blank={"notes": ""},
        scrub=("title",),
    ),
    Category(
        "corrective_actions",
        "Corrective actions started from the customer's case or answer",
        CorrectiveAction,
        lambda c: plain(CorrectiveAction).filter(
            Q(source_case__customer_id=c.pk) | Q(source_answer__response__customer_id=c.pk)
        ),
        fields=("id", "title", "description", "reason", "status", "deadline", "source_case_id", "source_answer_id"),
        scrub=("title", "description"),
    ),
    Category(
        "suppression",
        "Suppression list",
        Suppression,
        _suppressions,
        fields=("id", "email_hash", "reason", "created_at", "customer_id", "note"),
        blank={"note": "erasure"},
    ),
    Category("audit", "Audit trail", Entry, _audit, step="audit"),
    Category(
        "admin_log",
        "Django admin log",
        LogEntry,
        _admin_log,
        fields=("id", "action_time", "user_id", "content_type_id", "object_id", "object_repr", "action_flag"),
        scrub=("object_repr", "change_message"),
    ),
]


def by_name(name: str) -> Category:
    return next(category for category in CATEGORIES if category.name == name)
