"""Retention of free-text survey answers (RELIABILITY.md PRIV-06; docs/privacy.md "Retention").

An open-text answer is kept while the case about its defection is open and for
settings.WINBACK_ANSWER_RETENTION_MONTHS (24) after the case closed; an answer whose defection
got no case is kept for the same period after it was given. Then its text is blanked, and so is
every quotation of it in the staff text that repeats answers: the reviewer's reason notes of its
defection, the replies to the response and the corrective action started from it. The rows stay
(the reason given, ratings and options are not free text). Set-based: a few UPDATE statements,
whatever the number of answers; running it again changes nothing.
"""

import datetime as dt

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import models, transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Replace, StrIndex
from django.utils import timezone

from cases.models import Case, CorrectiveAction
from customers.models import ReasonChange
from surveys.models import Answer, Question, ResponseReply

__all__ = ["QUOTE_REMOVED", "expired_answers", "purge_expired_answers", "retention_cutoff"]

QUOTE_REMOVED = "[answer removed]"
MAX_PASSES = 5  # a text quoting several answers loses one per pass


def retention_cutoff(now: dt.datetime | None = None) -> dt.datetime:
    months = int(getattr(settings, "WINBACK_ANSWER_RETENTION_MONTHS", 24))
    return (now or timezone.now()) - relativedelta(months=months)


def expired_answers(cutoff: dt.datetime) -> models.QuerySet:
    """Open-text answers, not yet blanked, past retention at `cutoff` (module docstring)."""
    cases = Case.objects.filter(event_id=OuterRef("response__invitation__event_id"))
    kept_by_case = cases.filter(Q(is_open=True) | Q(closed_at__isnull=True) | Q(closed_at__gte=cutoff))
    return (
        Answer.objects.filter(question__kind=Question.Kind.OPEN_TEXT)
        .exclude(text="")
        .filter(
            Q(Exists(cases), ~Exists(kept_by_case)) | Q(~Exists(cases), response__submitted_at__lt=cutoff),
        )
    )


def _cut_quotes(queryset: models.QuerySet, column: str, link: tuple[str, str], expired: models.QuerySet) -> int:
    """Replaces, in `column` of the rows, the text of each expired answer they quote (answer
    field link[0] = row field link[1]) by QUOTE_REMOVED. One UPDATE per pass."""
    changed = 0
    for _pass in range(MAX_PASSES):
        quoted = (
            Answer.objects.filter(pk__in=expired.values("pk"), **{link[0]: OuterRef(link[1])})
            .annotate(at=StrIndex(OuterRef(column), F("text")))
            .filter(at__gt=0)
        )
        done = queryset.filter(Exists(quoted)).update(
            **{column: Replace(F(column), Subquery(quoted.order_by("pk").values("text")[:1]), Value(QUOTE_REMOVED))}
        )
        changed += done
        if not done:
            break
    return changed


@transaction.atomic
def purge_expired_answers(*, now: dt.datetime | None = None) -> dict:
    """Blanks the free-text answers past retention and their quotations; returns the counts."""
    cutoff = retention_cutoff(now)
    expired = expired_answers(cutoff)
    quotes = _cut_quotes(
        ReasonChange.objects.exclude(note=""), "note", ("response__invitation__event_id", "event_id"), expired
    )
    quotes += _cut_quotes(ResponseReply.objects.all(), "body", ("response_id", "response_id"), expired)
    quotes += _cut_quotes(CorrectiveAction.objects.all(), "description", ("pk", "source_answer_id"), expired)
    answers = Answer.objects.filter(pk__in=expired.values("pk")).update(text="")
    return {"answers": answers, "quotes": quotes, "cutoff": cutoff.isoformat()}
