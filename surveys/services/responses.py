"""The respondent's side of an invitation: opening the link (the one write a GET makes), submitting
the answers once, and sending a fresh link when an old one expired."""

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from surveys.mail import build_message, new_message_id
from surveys.models import Answer, Invitation, InvitationStatus, Question, Response, SurveyLink, SurveySettings
from surveys.suppression import survey_mail_refusal
from surveys.tokens import mint_link

__all__ = ["FRESH_LINK_INTERVAL", "record_open", "send_fresh_link", "submit_response"]

log = logging.getLogger(__name__)

FRESH_LINK_INTERVAL = dt.timedelta(minutes=10)


def record_open(*, invitation: Invitation, now: dt.datetime | None = None) -> None:
    """Counts an open of the emailed link and keeps the first open's time. This is the only write
    a GET of a link makes: mail scanners open links before people do (SUR-07)."""
    now = now or timezone.now()
    Invitation.objects.filter(pk=invitation.pk).update(
        open_count=F("open_count") + 1, opened_at=Coalesce(F("opened_at"), now)
    )


def submit_response(
    invitation: Invitation,
    cleaned_data: dict,
    *,
    questions: list[Question] | None = None,
    now: dt.datetime | None = None,
) -> Response | None:
    """Stores the customer's answers (cleaned data of `surveys.forms.public.SurveyResponseForm`,
    keyed `q<position>`) as the invitation's one response; None when it was already answered.

    The invitation row is locked first, so of many simultaneous submissions one writes and the
    others find it answered — no unique-constraint error is ever raised (SUR-05)."""
    now = now or timezone.now()
    if questions is None:
        questions = list(invitation.survey.questions.prefetch_related("options"))
    with transaction.atomic():
        locked = (
            Invitation.objects.select_for_update()
            .filter(pk=invitation.pk, responded_at__isnull=True)
            .values_list("pk", flat=True)
            .first()
        )
        if locked is None or Response.objects.filter(invitation_id=invitation.pk).exists():
            return None
        response = Response(
            invitation_id=invitation.pk,
            customer_id=invitation.customer_id,
            survey_id=invitation.survey_id,
            language=invitation.language,
            submitted_at=now,
        )
        answers = _answers(response, questions, cleaned_data)
        response.save()
        for answer in answers:
            answer.response = response
        Answer.objects.bulk_create(answers)
        Invitation.objects.filter(pk=invitation.pk).update(responded_at=now)
    invitation.responded_at = now
    return response


def _answers(response: Response, questions: list[Question], data: dict) -> list[Answer]:
    """The answer rows, and the response's reason and contact consent filled in on the way."""
    answers = []
    for question in questions:
        name = f"q{question.position}"
        value = data.get(name)
        if value in (None, "", []):
            continue
        options = {str(option.position): option for option in question.options.all()}
        kind = question.kind
        if kind == Question.Kind.SINGLE_CHOICE:
            option = options[value]
            answers.append(Answer(question=question, option=option))
            if option.reason and not response.stated_reason:
                response.stated_reason = option.reason
        elif kind == Question.Kind.MULTIPLE_CHOICE:
            answers.extend(Answer(question=question, option=options[v]) for v in value)
        elif kind == Question.Kind.RATING:
            answers.append(Answer(question=question, rating=int(value)))
        elif kind == Question.Kind.OPEN_TEXT:
            answers.append(Answer(question=question, text=value))
        elif kind == Question.Kind.CONTACT_CONSENT:
            consent = value == "yes"
            response.contact_consent = consent
            if consent:
                response.contact_channel = data.get(f"{name}_channel") or ""
                # The answer's text is the preferred channel ("" for no preference).
                answers.append(Answer(question=question, text=response.contact_channel))
    return answers


def send_fresh_link(*, invitation_id: int, now: dt.datetime | None = None) -> bool:
    """Mints a new link for an invitation whose link expired and emails it, inline, to the address
    on file — at most once per FRESH_LINK_INTERVAL, never after an answer and never to someone who
    may no longer get survey mail. True when an email went out. A failed send rolls back the
    new link, so the customer may try again at once."""
    now = now or timezone.now()
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("customer")
            .filter(pk=invitation_id)
            .first()
        )
        if invitation is None or invitation.responded_at or invitation.status == InvitationStatus.CANCELLED:
            return False
        recent = SurveyLink.objects.filter(
            invitation=invitation, purpose=SurveyLink.Purpose.FRESH, created_at__gt=now - FRESH_LINK_INTERVAL
        )
        if recent.exists():
            return False
        refusal = survey_mail_refusal(invitation.customer)
        if refusal:
            log.info("fresh_link_not_sent invitation=%s reason=%s", invitation.pk, refusal)
            return False
        sender = SurveySettings.load()
        token = mint_link(invitation, purpose=SurveyLink.Purpose.FRESH, now=now, valid_days=sender.link_valid_days)
        survey_url = settings.SITE_URL.rstrip("/") + reverse("surveys:open", args=[token])
        message = build_message(
            customer=invitation.customer,
            kind="fresh_link",
            language=invitation.language,
            context={
                "survey_url": survey_url,
                "reviewer_name": invitation.reviewer_name,
                "link_valid_days": str(sender.link_valid_days),
            },
            message_id=new_message_id(),
            signer_name=invitation.signer_name,
            signer_email=invitation.signer_email,
        )
        message.send()
    log.info("fresh_link_sent invitation=%s", invitation.pk)
    return True
