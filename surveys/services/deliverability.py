"""Deliverability writes: what the mail provider reports through Anymail's tracking webhook
(hard bounces and spam complaints suppress the address; soft bounces and deliveries are only
recorded) and the staff "email invalid" mark with its undo.

Every provider event is stored once: EmailEvent.provider_event_id is unique, so a webhook the
provider re-sends (it retries until it gets a 2xx) changes nothing the second time."""

import hashlib
import logging

from anymail.signals import AnymailTrackingEvent, EventType, RejectReason
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from customers.models import Customer
from surveys.models import EmailEvent, Invitation, ResponseReply, Suppression
from surveys.suppression import email_hash, normalise_email, suppress

__all__ = ["classify", "email_mark_invalid", "email_unmark_invalid", "tracking_event_record"]

logger = logging.getLogger(__name__)

# A rejection for one of these reasons means the address itself does not work.
PERMANENT_REJECTIONS = {RejectReason.BOUNCED, RejectReason.INVALID}


def _is_soft_bounce(esp_event) -> bool:
    """Providers that report temporary bounces as "bounced" say so in their own payload."""
    if not isinstance(esp_event, dict):
        return False
    if esp_event.get("Type") == "SoftBounce":  # Postmark ("might also receive HardBounce later")
        return True
    if esp_event.get("severity") == "temporary":  # Mailgun
        return True
    bounce = esp_event.get("bounce")
    return isinstance(bounce, dict) and bounce.get("bounceType") == "Transient"  # Amazon SES


def classify(event: AnymailTrackingEvent) -> tuple[str, str] | None:
    """(EmailEvent kind, Suppression reason or "") for a provider event, or None when it is not
    worth keeping (queued, sent, opened, clicked, ...)."""
    kind = event.event_type
    if kind == EventType.DELIVERED:
        return EmailEvent.Kind.DELIVERED, ""
    if kind == EventType.DEFERRED:
        return EmailEvent.Kind.DEFERRED, ""
    if kind == EventType.BOUNCED:
        if _is_soft_bounce(event.esp_event):
            return EmailEvent.Kind.DEFERRED, ""
        return EmailEvent.Kind.BOUNCED, Suppression.Reason.HARD_BOUNCE
    if kind == EventType.REJECTED:
        if event.reject_reason in PERMANENT_REJECTIONS:
            return EmailEvent.Kind.BOUNCED, Suppression.Reason.HARD_BOUNCE
        return EmailEvent.Kind.OTHER, ""
    if kind == EventType.COMPLAINED:
        return EmailEvent.Kind.COMPLAINED, Suppression.Reason.COMPLAINT
    if kind == EventType.UNSUBSCRIBED:
        return EmailEvent.Kind.UNSUBSCRIBED, Suppression.Reason.UNSUBSCRIBED
    if kind in (EventType.FAILED, EventType.UNKNOWN):
        return EmailEvent.Kind.OTHER, ""
    return None


def _message_id_candidates(event: AnymailTrackingEvent) -> set[str]:
    """Our Message-ID as the provider may echo it: its own id (when it keeps ours), metadata we
    sent with the message, or the original headers (Mailgun, Amazon SES)."""
    found = [event.message_id, (event.metadata or {}).get("message_id")]
    payload = event.esp_event if isinstance(event.esp_event, dict) else {}
    headers = (payload.get("message") or {}).get("headers") if isinstance(payload.get("message"), dict) else None
    if isinstance(headers, dict):
        found.append(headers.get("message-id"))
    mail = payload.get("mail")
    if isinstance(mail, dict) and isinstance(mail.get("commonHeaders"), dict):
        found.append(mail["commonHeaders"].get("messageId"))
    candidates = set()
    for value in found:
        if isinstance(value, str) and value.strip():
            bare = value.strip().strip("<>")
            candidates.update({bare, f"<{bare}>"})
    return candidates


def _find_sent_message(candidates: set[str]) -> tuple[Customer | None, Invitation | None]:
    if not candidates:
        return None, None
    invitation = (
        Invitation.objects.select_related("customer")
        .filter(Q(message_id__in=candidates) | Q(reminder_message_id__in=candidates))
        .first()
    )
    if invitation is not None:
        return invitation.customer, invitation
    reply = ResponseReply.objects.select_related("response__customer").filter(message_id__in=candidates).first()
    if reply is not None:
        return reply.response.customer, None
    return None, None


def _customer_by_address(address: str) -> Customer | None:
    """The newest customer row with this address (a re-import may have made several)."""
    if not address:
        return None
    return Customer.objects.filter(email__iexact=address).order_by("-id").first()


def _provider_event_id(esp_name: str, event: AnymailTrackingEvent) -> str:
    """The provider's event id; for events without one (a Postmark delivery) a digest of what
    identifies the event, so a re-sent webhook is still recognised."""
    if event.event_id:
        return f"{esp_name.lower()}:{event.event_id}"[:255]
    parts = [event.event_type, event.message_id or "", event.recipient or "", str(event.timestamp or "")]
    return f"{esp_name.lower()}:sha256:" + hashlib.sha256("|".join(parts).encode()).hexdigest()


def tracking_event_record(*, esp_name: str, event: AnymailTrackingEvent) -> EmailEvent | None:
    """Stores one provider event and, for a hard bounce, a spam complaint or an unsubscribe
    reported by the provider, suppresses the address (surveys.suppression.suppress). The
    customer is found by the Message-ID of our invitation or reply, else by the address.
    Idempotent on the provider's event id; returns None for events not kept or already stored."""
    classified = classify(event)
    if classified is None:
        return None
    kind, suppression_reason = classified
    provider_event_id = _provider_event_id(esp_name, event)
    if EmailEvent.objects.filter(provider_event_id=provider_event_id).exists():
        return None
    customer, invitation = _find_sent_message(_message_id_candidates(event))
    recipient = normalise_email(event.recipient or "")
    if customer is None:
        customer = _customer_by_address(recipient)
    address = recipient or (customer.email if customer else "")
    description = event.description or event.mta_response or ""
    try:
        with transaction.atomic():
            email_event = EmailEvent.objects.create(
                kind=kind,
                occurred_at=event.timestamp or timezone.now(),
                customer=customer,
                invitation=invitation,
                message_id=(event.message_id or "")[:255],
                provider_event_id=provider_event_id,
                description=description[:500],
            )
            if suppression_reason and address:
                suppress(address, suppression_reason, customer=customer, note=f"{esp_name}: {description}")
    except IntegrityError:  # the same event, stored by a concurrent delivery of the webhook
        return None
    if customer is None:
        logger.info("Deliverability event %s for an address of no customer", provider_event_id)
    return email_event


@transaction.atomic
def email_mark_invalid(*, customer: Customer, actor) -> Suppression | None:
    """Staff say the customer's address does not work: it is suppressed (reason invalid) and the
    mark recorded as an email event. An address already suppressed keeps its entry and reason (an
    unsubscribe is never overwritten), the mark is still recorded. None when there is no address."""
    if not normalise_email(customer.email):
        return None
    suppression = suppress(
        customer.email, Suppression.Reason.INVALID, customer=customer, note=f"Marked invalid by {actor.get_username()}"
    )
    EmailEvent.objects.create(
        kind=EmailEvent.Kind.MARKED_INVALID,
        customer=customer,
        description=f"Marked invalid by {actor.get_username()}"[:500],
    )
    return suppression


@transaction.atomic
def email_unmark_invalid(*, customer: Customer, actor) -> bool:
    """Undo of the staff mark: removes the suppression only when its reason is "invalid" (a bounce,
    complaint or unsubscribe stays) and records that. True when something was removed."""
    if not normalise_email(customer.email):
        return False
    deleted, _rows = Suppression.objects.filter(
        email_hash=email_hash(customer.email), reason=Suppression.Reason.INVALID
    ).delete()
    if deleted:
        EmailEvent.objects.create(
            kind=EmailEvent.Kind.OTHER,
            customer=customer,
            description=f"Invalid mark removed by {actor.get_username()}"[:500],
        )
    return bool(deleted)
