"""A win-back case: one defected customer's recovery, from "new" to an honest outcome, and its
history (the timeline), which the application only ever appends to."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Customer, DefectionEvent, Fault, Reason, Segment


class Stage(models.TextChoices):
    NEW = "new", _("New")
    CONTACTING = "contacting", _("Contacting")
    DIAGNOSED = "diagnosed", _("Diagnosed")
    OFFER_MADE = "offer_made", _("Offer made")
    WON_BACK = "won_back", _("Won back")
    LOST = "lost", _("Lost")
    LET_GO = "let_go", _("Let go")


OPEN_STAGES = (Stage.NEW, Stage.CONTACTING, Stage.DIAGNOSED, Stage.OFFER_MADE)
CLOSED_STAGES = (Stage.WON_BACK, Stage.LOST, Stage.LET_GO)


class Case(models.Model):
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="cases")
    event = models.ForeignKey(
        DefectionEvent,
        verbose_name=_("defection event"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="cases",
    )
    # The customer's segment when the case opened: the lists filter on it through an index of
    # their own instead of joining 100,000 cases to their customers.
    segment = models.ForeignKey(
        Segment,
        verbose_name=_("segment"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    stage = models.CharField(_("stage"), max_length=16, choices=Stage.choices, default=Stage.NEW)
    is_open = models.BooleanField(_("open"), default=True)  # stage in OPEN_STAGES; kept by cases.states
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_cases",
    )
    followers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("followers"), blank=True, related_name="followed_cases"
    )
    opened_by = models.ForeignKey(  # None: opened automatically by the housekeeping job
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    value_at_stake = models.DecimalField(
        _("revenue at stake"),
        max_digits=16,
        decimal_places=2,
        default=0,
        help_text=_("The estimated annual revenue lost if the customer does not come back."),
    )
    first_contact_due = models.DateTimeField(_("first contact due"))
    first_contact_at = models.DateTimeField(_("first contacted"), null=True, blank=True)
    due_at = models.DateTimeField(_("deadline"))
    # The next deadline: first_contact_due until the first contact, then due_at; None once closed.
    # Overdue means deadline_at < now (the lists and the digest read this one column).
    deadline_at = models.DateTimeField(_("next deadline"), null=True, blank=True)
    primary_reason = models.CharField(_("reason"), max_length=32, choices=Reason.choices, blank=True)
    fault = models.CharField(_("fault"), max_length=16, choices=Fault.choices, default=Fault.UNKNOWN)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    close_note = models.TextField(_("why"), blank=True)  # the reason for lost / let go, the note of a won back
    won_back_at = models.DateTimeField(_("won back"), null=True, blank=True)
    relapse = models.BooleanField(_("relapse"), default=False)
    previous_case = models.ForeignKey(
        "self",
        verbose_name=_("previous case"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="relapse_cases",
    )
    rescued_by = models.ForeignKey(  # the executive who took it in a rescue cycle
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="rescued_cases"
    )
    reopened_count = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-value_at_stake", "id"]
        verbose_name = _("win-back case")
        verbose_name_plural = _("win-back cases")
        constraints = [
            models.UniqueConstraint(fields=["customer"], condition=Q(is_open=True), name="case_one_open_per_customer"),
        ]
        indexes = [
            models.Index(fields=["owner", "is_open", "-value_at_stake", "id"], name="case_owner_open_value"),
            models.Index(fields=["is_open", "stage", "-value_at_stake", "id"], name="case_open_stage_value"),
            models.Index(fields=["is_open", "-value_at_stake", "id"], name="case_open_value"),
            models.Index(fields=["is_open", "segment", "-value_at_stake", "id"], name="case_open_segment_value"),
            models.Index(fields=["is_open", "deadline_at"], name="case_open_deadline"),
            # The board's "closed in the last 90 days" columns and the outcomes page.
            models.Index(
                fields=["is_open", "closed_at"], include=["stage", "value_at_stake"], name="case_closed_recent"
            ),
            models.Index(fields=["-won_back_at", "id"], condition=Q(won_back_at__isnull=False), name="case_won_back"),
            models.Index(fields=["customer", "-opened_at"], name="case_customer_opened"),
            models.Index(fields=["rescued_by", "is_open"], name="case_rescuer_open"),
        ]

    def __str__(self) -> str:
        return f"Case {self.pk}: {self.customer_id} ({self.stage})"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("cases:detail", args=[self.pk])

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.deadline_at is not None and self.deadline_at < timezone.now()

    @property
    def is_unassigned(self) -> bool:
        return self.owner_id is None


class CaseEventQuerySet(models.QuerySet):
    """Bulk changes are refused too (a customer's erasure removes rows through the deletion
    collector, which does not call these)."""

    def update(self, **kwargs):
        raise PermissionError("Case history cannot be changed.")

    def delete(self):
        raise PermissionError("Case history cannot be deleted.")


class CaseEvent(models.Model):
    """One entry of a case's history: who changed what, when, from what to what. Append-only: the
    application creates these and never changes or deletes them (save() of an existing row and
    delete() raise; the admin is read-only)."""

    class Kind(models.TextChoices):
        OPENED = "opened", _("Opened")
        STAGE = "stage", _("Stage changed")
        REOPENED = "reopened", _("Reopened")
        OWNER = "owner", _("Owner changed")
        FOLLOWER = "follower", _("Follower")
        REASON = "reason", _("Reason recorded")
        ACTIVITY = "activity", _("Call or meeting")
        EMAIL = "email", _("Email")
        OFFER = "offer", _("Offer")
        TASK = "task", _("Task")
        RESCUE = "rescue", _("Rescue cycle")
        NOTE = "note", _("Note")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="history")
    at = models.DateTimeField(_("when"), default=timezone.now)
    actor = models.ForeignKey(  # None: the system (a job or detection)
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    kind = models.CharField(_("what"), max_length=16, choices=Kind.choices)
    summary = models.CharField(_("summary"), max_length=300)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)

    objects = CaseEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("case history entry")
        verbose_name_plural = _("case history")
        indexes = [models.Index(fields=["case", "-at", "-id"], name="case_event_case_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_kind_display()}: {self.summary}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise PermissionError("Case history cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Case history cannot be deleted.")
