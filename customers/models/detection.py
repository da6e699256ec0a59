"""Defection detection: the default rules, the shared reason list, defection events, the status
history, dismissals of false alarms, and the record of every detection and backtest run."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models.core import Customer, DetectionRules


class Reason(models.TextChoices):
    """Why a customer left: one taxonomy shared by surveys and cases (DESIGN.md)."""

    PRODUCT_QUALITY = "product_quality", _("Product quality")
    SERVICE = "service", _("Service")
    PRICE = "price", _("Price / competitor offer")
    DELIVERY = "delivery", _("Delivery")
    BILLING = "billing", _("Billing")
    RELOCATION = "relocation", _("Relocation")
    CHANGED_NEEDS = "changed_needs", _("Changed needs")
    OTHER = "other", _("Other")


class Fault(models.TextChoices):
    OURS = "ours", _("Our fault")
    NOT_OURS = "not_ours", _("Not our fault")
    UNKNOWN = "unknown", _("Unknown")


class DetectionSettings(DetectionRules):
    """One row (pk 1): the rules for customers without a segment."""

    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("default detection rules")
        verbose_name_plural = _("default detection rules")

    def __str__(self) -> str:
        return str(_("Rules for customers without a segment"))

    @classmethod
    def load(cls) -> "DetectionSettings":
        return cls.objects.get_or_create(pk=1)[0]


class DetectionRun(models.Model):
    class Mode(models.TextChoices):
        NIGHTLY = "nightly", _("Nightly (changed customers)")
        FULL = "full", _("Full recompute")
        AS_OF = "as_of", _("Replay as of a past day")

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    as_of = models.DateField(_("as of"))
    mode = models.CharField(_("mode"), max_length=16, choices=Mode.choices)
    dry_run = models.BooleanField(_("dry run"), default=False)
    trigger = models.CharField(_("started by"), max_length=32, default="command")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    seconds = models.FloatField(_("seconds"), default=0)
    # False after a replay of a past day: the next run must recompute every customer.
    metrics_current = models.BooleanField(default=True)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("detection run")
        verbose_name_plural = _("detection runs")
        indexes = [models.Index(fields=["dry_run", "status", "started_at"], name="detectionrun_latest")]

    def __str__(self) -> str:
        return f"{self.get_mode_display()} as of {self.as_of}"


class DefectionEvent(models.Model):
    class Kind(models.TextChoices):
        PASSIVE = "passive", _("Passive (stopped buying)")
        ACTIVE = "active", _("Active (cancelled)")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        RECOVERED = "recovered", _("Recovered")
        CLOSED = "closed", _("Closed")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="defection_events")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    relapse = models.BooleanField(_("relapse"), default=False)
    detected_at = models.DateTimeField(_("detected"))
    as_of = models.DateField(_("as of"))
    last_purchase_at = models.DateTimeField(_("last purchase"), null=True, blank=True)
    lost_revenue = models.DecimalField(_("estimated annual lost revenue"), max_digits=16, decimal_places=2, default=0)
    primary_reason = models.CharField(_("primary reason"), max_length=32, choices=Reason.choices, blank=True)
    fault = models.CharField(_("fault"), max_length=16, choices=Fault.choices, default=Fault.UNKNOWN)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    status_changed_at = models.DateTimeField(_("status changed"))
    closed_reason = models.CharField(_("closed because"), max_length=200, blank=True)
    recovered_at = models.DateTimeField(_("won back"), null=True, blank=True)
    run = models.ForeignKey(DetectionRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-as_of", "-id"]
        verbose_name = _("defection event")
        verbose_name_plural = _("defection events")
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=Q(status="open"), name="defection_one_open_per_customer"
            )
        ]
        indexes = [
            models.Index(fields=["as_of", "kind"], name="defection_asof_kind"),
            models.Index(fields=["customer", "as_of"], name="defection_customer_asof"),
            models.Index(fields=["status", "as_of"], name="defection_status_asof"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} defection of customer {self.customer_id} as of {self.as_of}"


class StatusChange(models.Model):
    """One move in a customer's status lifecycle, with the rule and the numbers behind it."""

    class Rule(models.TextChoices):
        INACTIVE_AT_RISK = "inactive_at_risk", _("No purchase for the at-risk days")
        RATE_DROP = "rate_drop", _("Order rate dropped")
        INACTIVE_DEFECTED = "inactive_defected", _("No purchase for the defected days")
        CANCELLATION = "cancellation", _("Cancelled")
        BOUGHT_AGAIN = "bought_again", _("Bought again")
        WON_BACK = "won_back", _("Bought after defecting")
        DISMISSED = "dismissed", _("Alarm dismissed")
        MANUAL = "manual", _("Changed by staff")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(_("from"), max_length=16, choices=Customer.Status.choices)
    to_status = models.CharField(_("to"), max_length=16, choices=Customer.Status.choices)
    rule = models.CharField(_("rule"), max_length=32, choices=Rule.choices)
    facts = models.JSONField(_("facts"), default=dict, blank=True)
    as_of = models.DateField(_("as of"))
    changed_at = models.DateTimeField(_("changed"))
    run = models.ForeignKey(DetectionRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        indexes = [
            models.Index(fields=["customer", "changed_at"], name="statuschange_customer_time"),
            models.Index(fields=["to_status", "changed_at"], name="statuschange_to_time"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.from_status} → {self.to_status} ({self.as_of})"


class Dismissal(models.Model):
    class Kind(models.TextChoices):
        SEASONAL = "seasonal", _("Seasonal buyer")
        CONTRACT_PAUSED = "contract_paused", _("Contract paused")
        OTHER = "other", _("Other")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="dismissals")
    kind = models.CharField(_("reason"), max_length=32, choices=Kind.choices)
    note = models.TextField(_("note"), blank=True)
    until = models.DateField(_("do not flag again before"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("dismissed"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("dismissal")
        verbose_name_plural = _("dismissals")
        indexes = [models.Index(fields=["customer", "created_at"], name="dismissal_customer_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} until {self.until}"


class BacktestRun(models.Model):
    """The result of `backtest_detection`, shown next to the settings page."""

    created_at = models.DateTimeField(_("run"), default=timezone.now)
    from_month = models.DateField(_("from"))
    to_month = models.DateField(_("to"))
    horizon_days = models.PositiveIntegerField(_("horizon (days)"))
    result = models.JSONField(_("result"), default=dict)
    seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("backtest")
        verbose_name_plural = _("backtests")

    def __str__(self) -> str:
        return f"Backtest {self.from_month:%Y-%m} – {self.to_month:%Y-%m}"


class AtRiskDigest(models.Model):
    """At most one at-risk digest per manager and day (the unique key makes a repeat a no-op)."""

    manager = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    sent_at = models.DateTimeField(null=True, blank=True)
    customers = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["manager", "day"], name="atriskdigest_one_per_day")]
        verbose_name = _("at-risk digest")
        verbose_name_plural = _("at-risk digests")

    def __str__(self) -> str:
        return f"At-risk digest for {self.manager_id} on {self.day}"


class ReasonChange(models.Model):
    """One confirmation or change of a defection's primary reason and fault by a person (the
    survey reviewer or the case owner). The latest one is copied onto the event; all are kept."""

    class Source(models.TextChoices):
        SURVEY_REVIEW = "survey_review", _("Survey review")
        CASE = "case", _("Win-back case")
        STAFF = "staff", _("Staff")

    event = models.ForeignKey(DefectionEvent, on_delete=models.CASCADE, related_name="reason_changes")
    primary_reason = models.CharField(_("primary reason"), max_length=32, choices=Reason.choices, blank=True)
    fault = models.CharField(_("fault"), max_length=16, choices=Fault.choices, default=Fault.UNKNOWN)
    source = models.CharField(_("where"), max_length=16, choices=Source.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(_("when"), default=timezone.now)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name = _("reason change")
        verbose_name_plural = _("reason changes")
        indexes = [models.Index(fields=["event", "changed_at"], name="reasonchange_event")]

    def __str__(self) -> str:
        return f"{self.primary_reason or '-'} / {self.fault} on event {self.event_id}"
