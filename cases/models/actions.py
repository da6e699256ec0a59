"""Corrective actions (fixes for root causes, ranked by the lost revenue behind them), the rescue
cycle's picks, and the overdue notices already sent (the digest mentions an item once a day)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models.case import Case
from customers.models import DefectionEvent, Reason


class CorrectiveAction(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")
        DROPPED = "dropped", _("Dropped")

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True, max_length=5000)
    reason = models.CharField(_("reason"), max_length=32, choices=Reason.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="corrective_actions",
    )
    department = models.CharField(_("department"), max_length=100, blank=True)
    deadline = models.DateField(_("deadline"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    source_case = models.ForeignKey(
        Case, on_delete=models.SET_NULL, null=True, blank=True, related_name="corrective_actions"
    )
    source_answer = models.ForeignKey(
        "surveys.Answer", on_delete=models.SET_NULL, null=True, blank=True, related_name="corrective_actions"
    )
    events = models.ManyToManyField(DefectionEvent, blank=True, related_name="corrective_actions")
    # The linked defections' lost revenue, kept by the services that link events (the list sorts by it).
    lost_revenue = models.DecimalField(_("lost revenue behind it"), max_digits=16, decimal_places=2, default=0)
    loop_closed_at = models.DateTimeField(_("respondents told"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-lost_revenue", "id"]
        verbose_name = _("corrective action")
        verbose_name_plural = _("corrective actions")
        indexes = [
            models.Index(fields=["status", "-lost_revenue"], name="action_status_revenue"),
            models.Index(fields=["reason", "status"], name="action_reason_status"),
        ]

    def __str__(self) -> str:
        return self.title


class RescuePick(models.Model):
    """An executive took this case in this rescue cycle (its first day): they own it now, and the
    manager who owned it before follows it."""

    cycle_start = models.DateField(_("cycle"))
    executive = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rescue_picks")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="rescue_picks")
    previous_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    taken_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-taken_at"]
        verbose_name = _("rescue pick")
        verbose_name_plural = _("rescue picks")
        constraints = [models.UniqueConstraint(fields=["case", "cycle_start"], name="rescue_pick_once_per_cycle")]
        indexes = [models.Index(fields=["executive", "cycle_start"], name="rescue_pick_executive_cycle")]

    def __str__(self) -> str:
        return f"{self.executive} took case {self.case_id} ({self.cycle_start})"


class OverdueNotice(models.Model):
    """An overdue item named in an owner's digest on a day: the digest names each item at most
    once a day (a unique row per item and day, claimed before the mail is sent)."""

    class Kind(models.TextChoices):
        FIRST_CONTACT = "first_contact", _("First contact overdue")
        CASE = "case", _("Case overdue")
        TASK = "task", _("Task overdue")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    object_id = models.PositiveBigIntegerField()
    day = models.DateField()
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("overdue notice")
        verbose_name_plural = _("overdue notices")
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_id", "day"], name="overdue_notice_once_a_day"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id} on {self.day}"
