"""Invitations (the outbox row of one survey email per defection event), the links in them (only
a hash of each token is stored), the suppression list keyed on a hash of the normalised address,
and the delivery events reported by the mail provider."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Customer, DefectionEvent
from surveys.models.survey import Survey


class InvitationStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED_SUPPRESSED = "skipped_suppressed", _("Not sent: address suppressed")
    SKIPPED_PREFERENCE = "skipped_preference", _("Not sent: contact preferences")
    CANCELLED = "cancelled", _("Cancelled")


class Invitation(models.Model):
    """One per defection event (the unique event column makes the creating job idempotent).

    The row's status is the truth about sending: the job claims pending rows (pending → sending)
    in a transaction, checks suppression and preferences inside that claim, sends, then marks the
    row sent. `message_id` is fixed at creation, so a re-send after a crash carries the same
    Message-ID and the receiving side can tell it is the same message."""

    event = models.OneToOneField(DefectionEvent, on_delete=models.CASCADE, related_name="invitation")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="survey_invitations")
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, null=True, blank=True, related_name="invitations")
    language = models.CharField(_("language"), max_length=10)
    status = models.CharField(
        _("status"), max_length=20, choices=InvitationStatus.choices, default=InvitationStatus.PENDING
    )
    skip_reason = models.CharField(_("why not sent"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # Who signs the email and who reads the answers, as they were when the invitation was made.
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    signer_name = models.CharField(_("signed by"), max_length=200, blank=True)
    signer_email = models.EmailField(_("signer's address"), blank=True)
    reviewer_name = models.CharField(_("reviewer"), max_length=200, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=255, unique=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    opened_at = models.DateTimeField(_("first opened"), null=True, blank=True)
    open_count = models.PositiveIntegerField(_("times opened"), default=0)
    responded_at = models.DateTimeField(_("answered"), null=True, blank=True)
    # A row found still `sending` after its lease (its worker died) is sent again with the same
    # Message-ID; each such re-send may have been a duplicate delivery and is counted here.
    possible_duplicates = models.PositiveSmallIntegerField(_("re-sent after a crash"), default=0)
    reminder_message_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    reminder_claimed_at = models.DateTimeField(null=True, blank=True)
    reminder_attempts = models.PositiveSmallIntegerField(_("reminder attempts"), default=0)
    reminder_sent_at = models.DateTimeField(_("reminder sent"), null=True, blank=True)
    # Set when the reminder will never go (opted out, suppressed, bought again, failed): at most one.
    reminder_skipped_at = models.DateTimeField(_("reminder not sent"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        indexes = [
            models.Index(
                fields=["next_attempt_at"], name="invitation_due", condition=Q(status__in=["pending", "sending"])
            ),
            models.Index(fields=["customer", "created_at"], name="invitation_customer_created"),
            models.Index(fields=["status", "created_at"], name="invitation_status_created"),
            models.Index(
                fields=["sent_at"],
                name="invitation_reminder_due",
                condition=Q(
                    status="sent",
                    responded_at__isnull=True,
                    reminder_sent_at__isnull=True,
                    reminder_skipped_at__isnull=True,
                ),
            ),
            # The dashboard's drill-down lists the invitations sent in a period.
            models.Index(fields=["sent_at"], name="invitation_sent", condition=Q(sent_at__isnull=False)),
            # The sending rate limit counts the claims of the last minute (surveys.services.sending).
            models.Index(fields=["claimed_at"], name="invitation_claimed"),
            models.Index(fields=["reminder_claimed_at"], name="invitation_reminder_claimed"),
        ]

    def __str__(self) -> str:
        return f"Invitation {self.pk} for customer {self.customer_id}"


class SurveyLink(models.Model):
    """A personal link. The raw token (secrets.token_urlsafe(32)) exists only in the email; the
    row keeps its SHA-256. Every email (invitation, reminder, fresh link) mints its own link, so
    an earlier email's link keeps working until it expires or is revoked."""

    class Purpose(models.TextChoices):
        INVITATION = "invitation", _("Invitation")
        REMINDER = "reminder", _("Reminder")
        FRESH = "fresh", _("New link after expiry")

    invitation = models.ForeignKey(Invitation, on_delete=models.CASCADE, related_name="links")
    token_hash = models.CharField(max_length=64, unique=True)
    purpose = models.CharField(max_length=16, choices=Purpose.choices, default=Purpose.INVITATION)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("survey link")
        verbose_name_plural = _("survey links")

    def __str__(self) -> str:
        return f"Link {self.token_hash[:8]}… for invitation {self.invitation_id}"


class Suppression(models.Model):
    """An address we must not email: keyed on an HMAC of the normalised address, so a re-import
    of the same person (a new customer row) is still suppressed and no address is kept in clear."""

    class Reason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        HARD_BOUNCE = "hard_bounce", _("Hard bounce")
        COMPLAINT = "complaint", _("Spam complaint")
        INVALID = "invalid", _("Marked invalid by staff")

    email_hash = models.CharField(max_length=64, unique=True)
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    created_at = models.DateTimeField(_("since"), default=timezone.now)
    customer = models.ForeignKey(Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("suppressed address")
        verbose_name_plural = _("suppressed addresses")

    def __str__(self) -> str:
        return f"{self.get_reason_display()} {self.email_hash[:8]}…"


class EmailEvent(models.Model):
    """A delivery event from the mail provider's webhook (or a staff mark)."""

    class Kind(models.TextChoices):
        DELIVERED = "delivered", _("Delivered")
        BOUNCED = "bounced", _("Hard bounce")
        DEFERRED = "deferred", _("Soft bounce / deferred")
        COMPLAINED = "complained", _("Spam complaint")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        MARKED_INVALID = "marked_invalid", _("Marked invalid by staff")
        OTHER = "other", _("Other")

    kind = models.CharField(_("event"), max_length=16, choices=Kind.choices)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    customer = models.ForeignKey(Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    invitation = models.ForeignKey(Invitation, on_delete=models.SET_NULL, null=True, blank=True, related_name="events")
    message_id = models.CharField(max_length=255, blank=True)
    provider_event_id = models.CharField(max_length=255, blank=True)
    description = models.CharField(_("detail"), max_length=500, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("email event")
        verbose_name_plural = _("email events")
        indexes = [models.Index(fields=["customer", "occurred_at"], name="emailevent_customer")]
        constraints = [
            models.UniqueConstraint(
                fields=["provider_event_id"], condition=~Q(provider_event_id=""), name="emailevent_provider_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.occurred_at:%Y-%m-%d %H:%M}"
