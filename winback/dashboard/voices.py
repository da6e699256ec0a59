""" "In their own words": the latest open-text survey answers behind the dashboard's period.

One query: the answers to open-text questions, with text, of responses submitted in the period,
newest first, with a LIMIT. The (submitted_at) index on responses drives it backwards; answers are
joined by their response; the customer's current segment and account manager filter it."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q

from customers.detection.sql import local_midnight
from customers.models import Reason
from surveys.models import Answer, Question
from winback.dashboard.figures import Filters


@dataclass(frozen=True)
class Voice:
    answer_id: int
    response_id: int
    submitted_at: dt.datetime
    customer_id: int
    customer_external_id: str
    customer_name: str
    reason: str
    reason_label: str
    text: str


def voices_queryset(filters: Filters):
    """The open-text answers of the period with their text, newest first (not yet sliced)."""
    period = filters.period
    q = Q(
        response__submitted_at__gte=local_midnight(period.start),
        response__submitted_at__lt=local_midnight(period.end),
        question__kind=Question.Kind.OPEN_TEXT,
    )
    for name, value in (("segment", filters.segment), ("account_manager", filters.manager)):
        if value == 0:
            q &= Q(**{f"response__customer__{name}__isnull": True})
        elif value is not None:
            q &= Q(**{f"response__customer__{name}_id": value})
    return (
        Answer.objects.filter(q)
        .exclude(text="")
        .order_by("-response__submitted_at", "-response_id", "-id")
        .values_list(
            "id",
            "response_id",
            "response__submitted_at",
            "response__customer_id",
            "response__customer__external_id",
            "response__customer__name",
            "response__stated_reason",
            "text",
        )
    )


def latest_voices(filters: Filters, limit: int = 5) -> list[Voice]:
    """The latest `limit` open-text answers submitted in the period (filters applied)."""
    labels = dict(Reason.choices)
    return [
        Voice(
            answer_id=answer_id,
            response_id=response_id,
            submitted_at=submitted_at,
            customer_id=customer_id,
            customer_external_id=external_id,
            customer_name=name,
            reason=reason,
            reason_label=str(labels.get(reason, "")),
            text=text,
        )
        for answer_id, response_id, submitted_at, customer_id, external_id, name, reason, text in voices_queryset(
            filters
        )[:limit]
    ]
