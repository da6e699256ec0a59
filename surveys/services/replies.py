"""Emails from staff to a respondent: the close-the-loop reply ("You told us … Here is what we
changed: …") and the invitation to return with an offer, one at a time or in bulk.

A reply is composed from the administrator-edited EmailTemplate of its kind in the response's
language, stored as a ResponseReply row (pending) with its rendered subject and text and a fixed
Message-ID, and sent by a Celery task enqueued when the transaction commits. The task claims the
row by locking it (SELECT … FOR UPDATE SKIP LOCKED on a pending row) for the length of the send:
a second worker skips it, a worker killed mid-send leaves it pending for the redelivered message,
which sends it with the same Message-ID. What was previewed is what is sent: the stored text is
sent as it is, never rendered as a template again (a customer's words may contain `{{ … }}`).
"""

import datetime as dt
import re
import smtplib
from dataclasses import dataclass, field
from datetime import date

from anymail.exceptions import AnymailRecipientsRefused
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from customers.models import Reason
from surveys.mail import (
    build_message,
    first_name,
    new_message_id,
    pick_template,
    render_email_template,
    unsubscribe_url,
)
from surveys.models import EmailTemplate, Response, ResponseReply, SurveySettings
from surveys.suppression import suppressed_hashes, survey_mail_refusal
from surveys.views.inbox_queries import day_start
from winback import jobs

__all__ = [
    "ReturnPlan",
    "TransientSendError",
    "reply_create",
    "reply_deliver",
    "reply_preview",
    "return_invitation_plan",
    "return_invitations_send",
]

Kind = ResponseReply.Kind
Status = ResponseReply.Status
RETURN_RUN_JOB = "return_invitations"
RUN_KEY_PATTERN = re.compile(r"^[0-9a-f]{32}$")
ERROR_CHARS = 2000


class TransientSendError(Exception):
    """The mail server could not take the message now; the task retries later."""


def is_valid_message_id(value: str) -> bool:
    domain = re.escape(settings.WINBACK_MESSAGE_ID_DOMAIN)
    return bool(re.fullmatch(rf"<[\w.+=-]{{1,200}}@{domain}>", value or ""))


def signer_of(actor) -> tuple[str, str]:
    """The name and address a reply is signed with (and Reply-To goes to): the staff member."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return "", ""
    return actor.get_full_name() or actor.get_username(), actor.email or ""


def _context(response: Response, *, told: str, changed: str, offer: str) -> dict[str, str]:
    with translation.override(response.language):
        reason = str(Reason(response.stated_reason).label) if response.stated_reason else ""
    return {
        "what_you_told_us": told.strip(),
        "what_we_changed": changed.strip(),
        "told": told.strip(),
        "changed": changed.strip(),
        "offer": offer.strip(),
        "reason": reason,
    }


def _template(kind: str, language: str) -> EmailTemplate:
    try:
        return pick_template(kind, language)
    except EmailTemplate.DoesNotExist as error:
        raise ValidationError(
            _("There is no “%(kind)s” email template yet; an administrator adds one in the survey settings.")
            % {"kind": Kind(kind).label}
        ) from error


def _compose(
    response: Response,
    *,
    kind: str,
    actor,
    told: str,
    changed: str,
    offer: str,
    template: EmailTemplate | None = None,
    company_name: str | None = None,
) -> tuple[str, str]:
    """(subject, text) of the reply as the template renders it for this customer and signer."""
    template = template or _template(kind, response.language)
    customer = response.customer
    signer_name, _email = signer_of(actor)
    values = {
        "first_name": first_name(customer),
        "name": customer.name,
        "company_name": company_name if company_name is not None else SurveySettings.load().company_name,
        "signer_name": signer_name,
        "unsubscribe_url": unsubscribe_url(customer),
        **_context(response, told=told, changed=changed, offer=offer),
    }
    return render_email_template(template, values)


def _validate(kind: str, *, changed: str, offer: str) -> None:
    if kind == Kind.CLOSE_LOOP and not changed.strip():
        raise ValidationError(_("Say what was changed."))
    if kind == Kind.RETURN and not offer.strip():
        raise ValidationError(_("Describe the offer."))


def reply_preview(
    *, response: Response, kind: str, actor, told: str = "", changed: str = "", offer: str = "", message_id: str = ""
) -> EmailMultiAlternatives:
    """The message exactly as it would be sent (subject, text and HTML parts, headers), not sent."""
    signer_name, signer_email = signer_of(actor)
    return build_message(
        customer=response.customer,
        kind=kind,
        language=response.language,
        context=_context(response, told=told, changed=changed, offer=offer),
        message_id=message_id or new_message_id(),
        signer_name=signer_name,
        signer_email=signer_email,
        template=_template(kind, response.language),
    )


def _enqueue(reply_ids: list[int]) -> None:
    from surveys.reply_tasks import send_response_reply_task

    for reply_id in reply_ids:
        send_response_reply_task.delay(reply_id)


@transaction.atomic
def reply_create(
    *, response: Response, kind: str, actor, told: str = "", changed: str = "", offer: str = "", message_id: str = ""
) -> ResponseReply:
    """Stores a reply (pending) and sends it once the transaction commits. Refuses (ValidationError)
    when survey mail must not go to the customer. `message_id` (from the preview form) makes a
    repeated submit return the reply already made instead of sending a second one."""
    refusal = survey_mail_refusal(response.customer)
    if refusal:
        raise ValidationError(refusal)
    _validate(kind, changed=changed, offer=offer)
    if message_id and not is_valid_message_id(message_id):
        raise ValidationError(_("The form is out of date; please preview the message again."))
    message_id = message_id or new_message_id()
    existing = ResponseReply.objects.filter(message_id=message_id).first()
    if existing is not None:
        if existing.response_id != response.pk:
            raise ValidationError(_("The form is out of date; please preview the message again."))
        return existing
    subject, body = _compose(response, kind=kind, actor=actor, told=told, changed=changed, offer=offer)
    try:
        with transaction.atomic():
            reply = ResponseReply.objects.create(
                response=response,
                kind=kind,
                subject=subject,
                body=body,
                offer=offer.strip()[:300],
                created_by=actor,
                message_id=message_id,
            )
    except IntegrityError:
        return ResponseReply.objects.get(message_id=message_id)  # the same form submitted twice at once
    transaction.on_commit(lambda: _enqueue([reply.pk]))
    return reply


def _literal(text: str) -> str:
    """Template source that renders to exactly `text` (every template delimiter escaped)."""
    tags = {
        "{%": "openblock",
        "%}": "closeblock",
        "{{": "openvariable",
        "}}": "closevariable",
        "{#": "opencomment",
        "#}": "closecomment",
    }
    return re.sub(r"\{%|%\}|\{\{|\}\}|\{#|#\}", lambda m: "{% templatetag " + tags[m.group()] + " %}", text)


def _message_for(reply: ResponseReply) -> EmailMultiAlternatives:
    response = reply.response
    signer_name, signer_email = signer_of(reply.created_by)
    stored = EmailTemplate(
        kind=reply.kind, language=response.language, subject=_literal(reply.subject), body=_literal(reply.body)
    )
    return build_message(
        customer=response.customer,
        kind=reply.kind,
        language=stored.language,
        context={},
        message_id=reply.message_id,
        signer_name=signer_name,
        signer_email=signer_email,
        template=stored,
    )


def _is_permanent(error: Exception) -> bool:
    if isinstance(error, AnymailRecipientsRefused | smtplib.SMTPRecipientsRefused):
        return True
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500


def reply_deliver(*, reply_id: int, final_attempt: bool = False) -> str:
    """Sends one pending reply; returns "sent", "skipped", "failed" or "not pending". Contact
    preferences and suppressions are checked again at sending time. A transient failure keeps the
    row pending and raises TransientSendError (unless `final_attempt`, which marks it failed)."""
    try:
        with transaction.atomic():
            reply = (
                ResponseReply.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("response__customer", "created_by")
                .filter(pk=reply_id, status=Status.PENDING)
                .first()
            )
            if reply is None:
                return "not pending"  # sent, skipped or failed already, or another worker has it
            refusal = survey_mail_refusal(reply.response.customer)
            if refusal:
                reply.status, reply.last_error = Status.SKIPPED, refusal
                reply.save(update_fields=["status", "last_error"])
                return "skipped"
            _message_for(reply).send()
            reply.status, reply.sent_at, reply.last_error = Status.SENT, timezone.now(), ""
            reply.save(update_fields=["status", "sent_at", "last_error"])
            return "sent"
    except (smtplib.SMTPException, OSError, AnymailRecipientsRefused) as error:
        detail = f"{type(error).__name__}: {error}"[:ERROR_CHARS]
        if final_attempt or _is_permanent(error):
            ResponseReply.objects.filter(pk=reply_id, status=Status.PENDING).update(
                status=Status.FAILED, last_error=detail
            )
            return "failed"
        ResponseReply.objects.filter(pk=reply_id, status=Status.PENDING).update(last_error=detail)
        raise TransientSendError(detail) from error


@dataclass
class ReturnPlan:
    """Who a bulk invitation to return would go to: one response per customer (their latest
    naming the reason in the period), split into those to invite, those whose contact
    preferences or address refuse survey mail, and those already invited back for the reason."""

    to_invite: list[Response] = field(default_factory=list)
    refused: list[tuple[Response, str]] = field(default_factory=list)
    already_invited: list[Response] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.to_invite) + len(self.refused) + len(self.already_invited)


def return_invitation_plan(*, reason: str, since: date | None = None, until: date | None = None) -> ReturnPlan:
    """The respondents who named `reason` in the period (dates in the business time zone,
    inclusive), three queries however many there are."""
    responses = Response.objects.filter(stated_reason=reason).select_related("customer")
    if since:
        responses = responses.filter(submitted_at__gte=day_start(since))
    if until:
        responses = responses.filter(submitted_at__lt=day_start(until + dt.timedelta(days=1)))
    latest: dict[int, Response] = {}
    for response in responses.order_by("customer_id", "-submitted_at", "-id"):
        latest.setdefault(response.customer_id, response)
    invited = set(
        ResponseReply.objects.filter(
            kind=Kind.RETURN,
            status__in=[Status.PENDING, Status.SENT],
            response__stated_reason=reason,
            response__customer_id__in=list(latest),
        ).values_list("response__customer_id", flat=True)
    )
    suppressions = suppressed_hashes([response.customer.email for response in latest.values()])
    plan = ReturnPlan()
    for response in sorted(latest.values(), key=lambda r: (r.customer.name, r.pk)):
        if response.customer_id in invited:
            plan.already_invited.append(response)
            continue
        refusal = survey_mail_refusal(response.customer, suppressions)
        if refusal:
            plan.refused.append((response, refusal))
        else:
            plan.to_invite.append(response)
    return plan


@dataclass
class ReturnRunResult:
    queued: int = 0
    refused: list[tuple[Response, str]] = field(default_factory=list)
    already_invited: int = 0
    repeated: bool = False  # the same run (confirm button) was submitted before: nothing done


@transaction.atomic
def return_invitations_send(
    *, reason: str, offer: str, actor, run_key: str, since: date | None = None, until: date | None = None
) -> ReturnRunResult:
    """Invites back every respondent who named `reason` in the period, at most once per customer
    and reason: those already invited for it are left out, those who may not get survey mail get
    a skipped row saying why. `run_key` (from the confirm form) makes a repeated submit a no-op."""
    _validate(Kind.RETURN, changed="", offer=offer)
    if not RUN_KEY_PATTERN.fullmatch(run_key or ""):
        raise ValidationError(_("The form is out of date; please count the respondents again."))
    if jobs.claim_slot(RETURN_RUN_JOB, run_key, f"user {getattr(actor, 'pk', '')}") is None:
        return ReturnRunResult(repeated=True)
    plan = return_invitation_plan(reason=reason, since=since, until=until)
    templates: dict[str, EmailTemplate] = {}
    company_name = SurveySettings.load().company_name
    rows = []
    for response in plan.to_invite:
        template = templates.get(response.language) or _template(Kind.RETURN, response.language)
        templates[response.language] = template
        subject, body = _compose(
            response,
            kind=Kind.RETURN,
            actor=actor,
            told="",
            changed="",
            offer=offer,
            template=template,
            company_name=company_name,
        )
        rows.append(
            ResponseReply(
                response=response,
                kind=Kind.RETURN,
                subject=subject,
                body=body,
                offer=offer.strip()[:300],
                created_by=actor,
                message_id=new_message_id(),
            )
        )
    for response, refusal in plan.refused:
        rows.append(
            ResponseReply(
                response=response,
                kind=Kind.RETURN,
                subject="",
                body="",
                offer=offer.strip()[:300],
                created_by=actor,
                message_id=new_message_id(),
                status=Status.SKIPPED,
                last_error=refusal,
            )
        )
    created = ResponseReply.objects.bulk_create(rows)
    pending_ids = [reply.pk for reply in created if reply.status == Status.PENDING]
    transaction.on_commit(lambda: _enqueue(pending_ids))
    return ReturnRunResult(queued=len(pending_ids), refused=plan.refused, already_invited=len(plan.already_invited))
