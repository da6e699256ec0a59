"""A customer's answers to an exit survey, the reviewer's handling of them, and the emails that
close the loop (a reply saying what was done; later an invitation to return)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Customer, Reason
from surveys.models.invitation import Invitation
from surveys.models.survey import Option, Question, Survey

OPEN_TEXT_MAX = 5000  # characters per open-text answer (RELIABILITY.md SUR-11)


class Response(models.Model):
    """One per invitation (unique), never edited by the customer after submission."""

    invitation = models.OneToOneField(Invitation, on_delete=models.CASCADE, related_name="response")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="survey_responses")
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses")
    language = models.CharField(_("language"), max_length=10)
    submitted_at = models.DateTimeField(_("answered"), default=timezone.now)
    # The reason named in the single-choice question, as the customer gave it.
    stated_reason = models.CharField(_("reason given"), max_length=32, choices=Reason.choices, blank=True)
    contact_consent = models.BooleanField(_("may be contacted"), null=True, blank=True)
    contact_channel = models.CharField(_("preferred channel"), max_length=16, blank=True)
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    digested_at = models.DateTimeField(null=True, blank=True)  # included in a reviewer digest

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        indexes = [
            models.Index(fields=["submitted_at"], name="response_submitted"),
            models.Index(fields=["submitted_at"], name="response_unreviewed", condition=Q(reviewed_at__isnull=True)),
            models.Index(fields=["customer", "submitted_at"], name="response_customer"),
            models.Index(fields=["stated_reason", "submitted_at"], name="response_reason"),
        ]

    def __str__(self) -> str:
        return f"Response {self.pk} from customer {self.customer_id}"


class Answer(models.Model):
    """One answer: an option (a multiple choice gives one row per chosen option), a rating 1–5,
    or text (open text, or the contact channel)."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    option = models.ForeignKey(Option, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    text = models.TextField(blank=True)

    class Meta:
        ordering = ["response", "question__position", "id"]
        verbose_name = _("answer")
        verbose_name_plural = _("answers")

    def __str__(self) -> str:
        return f"Answer to {self.question_id}"


class ResponseReply(models.Model):
    """An email from staff to a respondent: the close-the-loop reply or an invitation to return."""

    class Kind(models.TextChoices):
        CLOSE_LOOP = "close_loop", _("Reply: what we changed")
        RETURN = "return", _("Invitation to return")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Not sent: contact preferences")

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="replies")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("text"))
    offer = models.CharField(_("offer"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    message_id = models.CharField(max_length=255, unique=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("reply to a respondent")
        verbose_name_plural = _("replies to respondents")
        indexes = [models.Index(fields=["kind", "sent_at"], name="reply_kind_sent")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to response {self.response_id}"
