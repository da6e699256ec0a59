"""The reviewer's work on a response: marking it reviewed, confirming or changing the defection's
primary reason and fault (kept in the event's history by customers.services.reasons), and the
hourly digest email of new responses.

The digest runs at most once an hour: it claims the hour's `JobRun("reviewer_digest", hour)` row
first (winback.jobs), so a second beat, a retry or a redelivered message in the same hour does
nothing. When nothing is new, no slot is claimed and no email is sent.
"""

import logging
from urllib.parse import urljoin

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import ngettext

from customers.models import ReasonChange
from customers.services.reasons import set_event_reason
from surveys.models import Response, SurveySettings
from surveys.views.inbox_queries import open_text_excerpt
from winback import jobs
from winback.roles import Role

__all__ = ["digest_recipient", "response_mark_reviewed", "response_set_reason", "send_reviewer_digest"]

logger = logging.getLogger(__name__)

DIGEST_JOB = "reviewer_digest"
DIGEST_PERIOD_SECONDS = 3600
DIGEST_MAX_ENTRIES = 200  # listed one by one; more are counted and linked to the inbox


@transaction.atomic
def response_mark_reviewed(*, response: Response, actor) -> Response:
    """Marks the response reviewed by `actor` (a second call keeps the first reviewer and time).
    Callers check surveys.policy.can_review_responses first."""
    now = timezone.now()
    updated = Response.objects.filter(pk=response.pk, reviewed_at__isnull=True).update(
        reviewed_at=now, reviewed_by=actor
    )
    if updated:
        response.reviewed_at, response.reviewed_by = now, actor
    else:
        response.refresh_from_db(fields=["reviewed_at", "reviewed_by"])
    return response


@transaction.atomic
def response_set_reason(*, response: Response, reason: str, fault: str, actor, note: str = "") -> ReasonChange:
    """Confirms or changes the primary reason and the fault of the response's defection event
    (the event is updated and the change kept in its history, source "survey_review"), and marks
    the response reviewed. Raises ValidationError for an unknown reason or fault."""
    change = set_event_reason(
        event=response.invitation.event, reason=reason, fault=fault, actor=actor, source="survey_review", note=note
    )
    response_mark_reviewed(response=response, actor=actor)
    return change


def digest_recipient(survey_settings: SurveySettings | None = None):
    """The impartial reviewer (SurveySettings.reviewer when active with an address), else the first
    active executive with an address; None when there is nobody."""
    survey_settings = survey_settings or SurveySettings.load()
    reviewer = survey_settings.reviewer
    if reviewer is not None and reviewer.is_active and reviewer.email:
        return reviewer
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name=Role.EXECUTIVE.value)
        .exclude(email="")
        .order_by("pk")
        .first()
    )


def _site_url(path: str) -> str:
    return urljoin(settings.SITE_URL.rstrip("/") + "/", path.lstrip("/"))


def _digest_message(recipient, responses: list[Response], total: int, sender: SurveySettings) -> EmailMultiAlternatives:
    entries = [
        {"response": response, "url": _site_url(reverse("surveys:response_detail", args=[response.pk]))}
        for response in responses
    ]
    context = {
        "recipient": recipient,
        "entries": entries,
        "count": total,
        "more": total - len(entries),
        "inbox_url": _site_url(reverse("surveys:inbox") + "?state=new"),
        "company_name": sender.company_name,
    }
    subject = ngettext("%(count)s new survey response", "%(count)s new survey responses", total) % {"count": total}
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("surveys/email/reviewer_digest.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient.email],
    )
    message.attach_alternative(render_to_string("surveys/email/reviewer_digest.html", context), "text/html")
    return message


def send_reviewer_digest(*, task_id: str = "") -> str:
    """Emails the reviewer the responses not yet in a digest, at most once per hour; returns what
    happened. The responses are marked as digested only after the email went out, so a failure
    loses nothing (the hour's slot is given back and the next run sends them)."""
    now = timezone.now()
    pending = Response.objects.filter(digested_at__isnull=True)
    if not pending.exists():
        return "nothing new"
    sender = SurveySettings.load()
    recipient = digest_recipient(sender)
    if recipient is None:
        logger.warning("reviewer digest: no reviewer and no active executive with an email address")
        return "no reviewer"
    claim = jobs.claim_slot(DIGEST_JOB, jobs.slot_for(now, DIGEST_PERIOD_SECONDS), task_id)
    if claim is None:
        return "already sent this hour"
    ids = list(pending.order_by("submitted_at", "id").values_list("id", flat=True))
    responses = list(
        Response.objects.filter(id__in=ids[:DIGEST_MAX_ENTRIES])
        .select_related("customer", "invitation__event")
        .annotate(excerpt=open_text_excerpt())
        .order_by("submitted_at", "id")
    )
    try:
        with translation.override(settings.LANGUAGE_CODE):
            _digest_message(recipient, responses, len(ids), sender).send()
    except Exception:
        claim.delete()  # give the hour back: the next run sends the same responses
        logger.exception("reviewer digest to user %s failed", recipient.pk)
        raise
    with transaction.atomic():
        Response.objects.filter(id__in=ids, digested_at__isnull=True).update(digested_at=now)
        SurveySettings.objects.filter(pk=sender.pk).update(reviewer_digest_sent_at=now)
        outcome = f"{len(ids)} responses to user {recipient.pk}"
        jobs.finish(claim, outcome)
    logger.info("reviewer digest: %s", outcome)
    return outcome
