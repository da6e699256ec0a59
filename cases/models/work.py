"""The work on a case: calls and meetings following the recovery script, emails, offers and tasks."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models.case import Case
from customers.models import Fault, Reason


class Activity(models.Model):
    """A call, meeting or email with the customer. Calls and meetings follow the script
    (apologise, listen, diagnose, help, offer); a diagnosis records the reason and fault."""

    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        MEETING = "meeting", _("Meeting")
        EMAIL = "email", _("Email")

    class EmailStatus(models.TextChoices):
        NONE = "", _("Not an email")
        PENDING = "pending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    happened_at = models.DateTimeField(_("when"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    apologised = models.BooleanField(_("apologised"), default=False)
    listened = models.BooleanField(_("listened"), default=False)
    diagnosed = models.BooleanField(_("diagnosed"), default=False)
    helped = models.BooleanField(_("helped solve the problem now"), default=False)
    offered = models.BooleanField(_("made an offer"), default=False)
    notes = models.TextField(_("notes"), blank=True, max_length=5000)
    reason = models.CharField(_("reason"), max_length=32, choices=Reason.choices, blank=True)
    fault = models.CharField(_("fault"), max_length=16, choices=Fault.choices, blank=True)
    # Emails only
    to_email = models.EmailField(_("to"), blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("message"), blank=True, max_length=10000)
    message_id = models.CharField(max_length=200, blank=True, unique=True, null=True)
    email_status = models.CharField(max_length=16, choices=EmailStatus.choices, default=EmailStatus.NONE, blank=True)
    channel_warning = models.CharField(max_length=300, blank=True)  # shown and accepted before sending
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-happened_at", "-id"]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [models.Index(fields=["case", "-happened_at"], name="activity_case_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on case {self.case_id}"


class Offer(models.Model):
    class Kind(models.TextChoices):
        DISCOUNT = "discount", _("Discount (%)")
        CREDIT = "credit", _("Credit")
        FREE_SERVICE = "free_service", _("Free service")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        EXPIRED = "expired", _("Expired")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="offers")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    description = models.CharField(_("description"), max_length=300, blank=True)
    value = models.DecimalField(_("value"), max_digits=14, decimal_places=2)  # percent for a discount
    cost = models.DecimalField(_("cost to us"), max_digits=14, decimal_places=2)
    expires_on = models.DateField(_("expires"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("made"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        indexes = [
            models.Index(fields=["case", "-created_at"], name="offer_case_time"),
            models.Index(fields=["status", "expires_on"], name="offer_status_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value} on case {self.case_id}"


class Task(models.Model):
    """Something to do by a date: a follow-up ("call back Tuesday") or an intensive-care health
    review of a won-back customer. Shown in the assignee's task list."""

    class Kind(models.TextChoices):
        FOLLOW_UP = "follow_up", _("Follow-up")
        HEALTH_REVIEW = "health_review", _("Health review")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="tasks")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.FOLLOW_UP)
    title = models.CharField(_("what"), max_length=200)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="case_tasks",
    )
    due_on = models.DateField(_("due"))
    notes = models.TextField(_("notes"), blank=True, max_length=5000)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(  # None: created by the system (intensive care)
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_on", "id"]
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [
            models.Index(fields=["assignee", "done_at", "due_on"], name="task_assignee_due"),
            models.Index(fields=["case", "due_on"], name="task_case_due"),
            models.Index(fields=["done_at", "due_on"], name="task_open_due"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_overdue(self) -> bool:
        return self.done_at is None and self.due_on < timezone.localdate()
