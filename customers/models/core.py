"""Customers, their segments, purchases (transactions), support contacts (interactions) and
the record of every import."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DetectionRules(models.Model):
    """The defection rules. Each segment has its own; customers without a segment use the
    defaults (DetectionSettings). Changed by administrators on the detection settings page."""

    at_risk_days = models.PositiveIntegerField(
        _("days to 'at risk'"),
        default=60,
        db_default=60,
        help_text=_("No purchase for this many days flags a customer at risk."),
    )
    defected_days = models.PositiveIntegerField(
        _("days to 'defected'"),
        default=90,
        db_default=90,
        help_text=_("No purchase for this many days marks a customer defected."),
    )
    rhythm_enabled = models.BooleanField(
        _("allow for the customer's own rhythm"),
        # Off by default: decided by backtest_detection (docs/detection.md, "Shipped defaults").
        default=False,
        db_default=False,
        help_text=_(
            "A customer who usually buys rarely is called defected only after this multiple of their "
            "usual gap between purchases, if that is longer than the segment's days. Turn it on where "
            "the backtest shows it helps."
        ),
    )
    rhythm_multiple = models.DecimalField(
        _("rhythm multiple"),
        max_digits=4,
        decimal_places=1,
        default=Decimal("3.0"),
        db_default=Decimal("3.0"),
        validators=[MinValueValidator(Decimal("1.0")), MaxValueValidator(Decimal("20.0"))],
    )
    rate_drop_percent = models.PositiveSmallIntegerField(
        _("order rate drop (%)"),
        default=50,
        db_default=50,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_("At risk when the order rate of the last 90 days fell by this share against the year before."),
    )
    rate_drop_min_orders = models.PositiveSmallIntegerField(
        _("orders needed for the rate rule"),
        default=4,
        db_default=4,
        validators=[MinValueValidator(1)],
        help_text=_("The order-rate rule applies only to customers with at least this many orders."),
    )

    RULE_FIELDS = (
        "at_risk_days",
        "defected_days",
        "rhythm_enabled",
        "rhythm_multiple",
        "rate_drop_percent",
        "rate_drop_min_orders",
    )

    class Meta:
        abstract = True

    def clean(self):
        super().clean()
        if self.at_risk_days is not None and self.defected_days is not None and self.at_risk_days >= self.defected_days:
            raise ValidationError(
                {
                    "defected_days": _("Must be more than the days to 'at risk' (%(days)s).")
                    % {"days": self.at_risk_days}
                }
            )


class Segment(DetectionRules):
    name = models.CharField(_("name"), max_length=100, unique=True)
    case_min_annual_value = models.DecimalField(
        _("minimum annual value for a recovery case"),
        max_digits=14,
        decimal_places=2,
        default=Decimal("0"),
        help_text=_("A defector worth at least this much a year gets a win-back case automatically."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("segment")
        verbose_name_plural = _("segments")

    def __str__(self) -> str:
        return self.name


class CustomerQuerySet(models.QuerySet):
    def search(self, text: str) -> "CustomerQuerySet":
        """Name, email or company contains the text, or the external id equals it."""
        text = text.strip()
        if not text:
            return self
        return self.filter(
            Q(external_id=text) | Q(name__icontains=text) | Q(email__icontains=text) | Q(company__icontains=text)
        )

    def managed_by(self, user) -> "CustomerQuerySet":
        return self.filter(account_manager=user)


class Customer(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        AT_RISK = "at_risk", _("At risk")
        DEFECTED = "defected", _("Defected")
        WON_BACK = "won_back", _("Won back")
        LOST = "lost", _("Lost")

    class Channel(models.TextChoices):
        ANY = "", _("No preference")
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone")
        SMS = "sms", _("Text message")
        POST = "post", _("Post")
        MEETING = "meeting", _("In person")

    external_id = models.CharField(_("customer id"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email"), max_length=254, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    company = models.CharField(_("company"), max_length=200, blank=True)
    segment = models.ForeignKey(
        Segment,
        verbose_name=_("segment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="customers",
        db_index=False,  # customer_segment_name (segment, name) serves the lookups; one index less to write
    )
    account_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account manager"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="managed_customers",
        db_index=False,  # customer_manager_name (account_manager, name) serves the lookups
    )
    language = models.CharField(_("language"), max_length=10, default="en")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    status_changed_at = models.DateTimeField(_("status changed"), default=timezone.now)

    # Contact preferences
    do_not_contact = models.BooleanField(_("do not contact"), default=False)
    preferred_channel = models.CharField(
        _("preferred channel"), max_length=16, choices=Channel.choices, default=Channel.ANY, blank=True
    )
    contact_notes = models.TextField(
        _("contact notes"), blank=True, help_text=_('Dislikes and wishes, e.g. "no phone calls".')
    )
    survey_opt_out_at = models.DateTimeField(_("opted out of surveys"), null=True, blank=True)

    # Metrics, kept current by imports and recomputed by the detection job.
    first_purchase_at = models.DateTimeField(_("first purchase"), null=True, blank=True)
    last_purchase_at = models.DateTimeField(_("last purchase"), null=True, blank=True)
    order_count = models.PositiveIntegerField(_("orders"), default=0)
    lifetime_revenue = models.DecimalField(_("lifetime revenue"), max_digits=16, decimal_places=2, default=0)
    r_score = models.PositiveSmallIntegerField(_("R score"), null=True, blank=True)
    f_score = models.PositiveSmallIntegerField(_("F score"), null=True, blank=True)
    m_score = models.PositiveSmallIntegerField(_("M score"), null=True, blank=True)
    # Recomputed by detection (customers.detection) as of metrics_as_of; windows end that day.
    orders_365d = models.PositiveIntegerField(_("orders, last 365 days"), default=0, db_default=0)
    revenue_365d = models.DecimalField(
        _("revenue, last 365 days"), max_digits=16, decimal_places=2, default=0, db_default=0
    )
    orders_prev_365d = models.PositiveIntegerField(_("orders, the 365 days before"), default=0, db_default=0)
    revenue_prev_365d = models.DecimalField(
        _("revenue, the 365 days before"), max_digits=16, decimal_places=2, default=0, db_default=0
    )
    orders_90d = models.PositiveIntegerField(_("orders, last 90 days"), default=0, db_default=0)
    orders_90d_base = models.PositiveIntegerField(_("orders, the 365 days before the last 90"), default=0, db_default=0)
    median_gap_days = models.FloatField(_("usual days between purchases"), null=True, blank=True)
    annual_value = models.DecimalField(
        _("estimated annual revenue"),
        max_digits=16,
        decimal_places=2,
        default=0,
        db_default=0,
        help_text=_("Average order value × orders per year: the revenue lost if the customer leaves."),
    )
    metrics_as_of = models.DateField(_("figures as of"), null=True, blank=True)
    metrics_stale = models.BooleanField(default=True, db_default=True)  # new purchases or contacts since the figures
    last_cancellation_at = models.DateTimeField(_("last cancellation"), null=True, blank=True)
    # Detection state: when the current defection started (its last activity), the last win-back,
    # and a dismissal of a false alarm that stops flagging until a date.
    defection_activity_at = models.DateTimeField(null=True, blank=True)
    won_back_at = models.DateTimeField(_("won back"), null=True, blank=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)
    dismissed_until = models.DateField(_("not flagged before"), null=True, blank=True)

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=["status", "name"], name="customer_status_name"),
            models.Index(fields=["segment", "name"], name="customer_segment_name"),
            models.Index(fields=["account_manager", "name"], name="customer_manager_name"),
            models.Index(fields=["name", "id"], name="customer_name_id"),
            # The list's sort orders (each ends in id for stable pages). Never-bought customers
            # sort last in both directions: on PostgreSQL migration 0004 adds the matching
            # (last_purchase_at DESC NULLS LAST, id DESC) index, which SQLite cannot express.
            models.Index(fields=["last_purchase_at", "id"], name="customer_last_purchase"),
            models.Index(fields=["lifetime_revenue", "id"], name="customer_revenue_id"),
            models.Index(fields=["order_count", "id"], name="customer_orders_id"),
            models.Index(fields=["email"], name="customer_email"),
            models.Index(fields=["account_manager", "status", "annual_value"], name="customer_manager_status_value"),
            models.Index(fields=["status", "annual_value"], name="customer_status_value"),
        ]
        permissions = [
            ("import_data", _("Can import customers, purchases and interactions")),
            ("export_customers", _("Can export customer lists")),
            ("assign_account_manager", _("Can change a customer's account manager")),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.external_id})"

    def get_absolute_url(self) -> str:
        return reverse("customers:detail", args=[self.pk])

    @property
    def active_years(self) -> float:
        """Years between first and last purchase, counted as at least one (DESIGN.md, lost revenue)."""
        if not (self.first_purchase_at and self.last_purchase_at):
            return 1.0
        return max((self.last_purchase_at - self.first_purchase_at).days / 365.25, 1.0)

    @property
    def orders_per_year(self) -> float:
        return self.order_count / self.active_years

    @property
    def average_order_value(self) -> Decimal | None:
        if not self.order_count:
            return None
        return (self.lifetime_revenue / self.order_count).quantize(Decimal("0.01"))


class Transaction(models.Model):
    class Kind(models.TextChoices):
        PURCHASE = "purchase", _("Purchase")
        REFUND = "refund", _("Refund")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="transactions")
    external_id = models.CharField(_("transaction id"), max_length=64, null=True, blank=True)
    occurred_at = models.DateTimeField(_("time"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.PURCHASE)
    # Days since the customer's previous purchase (FIRST_PURCHASE on their first one), kept on
    # each purchase so that detection's median gap needs no window over all the purchases. NULL
    # on refunds, and on purchases not numbered yet: each detection run numbers those first
    # (customers.detection.gaps), recomputing the gaps of every purchase of their customers.
    gap_days = models.FloatField(_("days since the previous purchase"), null=True, blank=True, editable=False)

    FIRST_PURCHASE = -1.0

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("transaction")
        verbose_name_plural = _("transactions")
        indexes = [
            # Covering (PostgreSQL): detection's per-customer windows read only this index.
            models.Index(
                fields=["customer", "occurred_at"],
                include=["amount", "kind", "gap_days"],
                name="transaction_customer_time",
            ),
            # The purchases detection has still to number (few, but found without a scan).
            models.Index(
                fields=["customer"],
                condition=models.Q(kind="purchase", gap_days__isnull=True),
                name="transaction_gap_todo",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["customer", "external_id"], name="transaction_unique_external_id"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} on {self.occurred_at:%Y-%m-%d}"


class InteractionQuerySet(models.QuerySet):
    def awaiting_answer(self) -> "InteractionQuerySet":
        return self.filter(status=Interaction.Status.OPEN)


class Interaction(models.Model):
    class Kind(models.TextChoices):
        SUPPORT_REQUEST = "support_request", _("Support request")
        COMPLAINT = "complaint", _("Complaint")
        PRAISE = "praise", _("Praise")
        CANCELLATION = "cancellation", _("Cancellation")
        CALL = "call", _("Call")

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone")
        CHAT = "chat", _("Chat")
        WEB = "web", _("Web form")
        IN_PERSON = "in_person", _("In person")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        OPEN = "open", _("Awaiting answer")
        RESOLVED = "resolved", _("Resolved")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="interactions")
    occurred_at = models.DateTimeField(_("time"))
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, default=Channel.OTHER)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    summary = models.TextField(_("summary"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("responsible employee"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="interactions",
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RESOLVED)
    due_at = models.DateTimeField(_("answer due"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = InteractionQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        indexes = [
            models.Index(fields=["customer", "occurred_at"], name="interaction_customer_time"),
            models.Index(fields=["owner", "status", "due_at"], name="interaction_owner_open"),
            models.Index(fields=["kind", "occurred_at"], name="interaction_kind_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.summary[:60]}"

    def is_overdue(self, now=None) -> bool:
        now = now or timezone.now()
        return self.status == self.Status.OPEN and self.due_at is not None and self.due_at < now


class ImportRun(models.Model):
    class Kind(models.TextChoices):
        CUSTOMERS = "customers", _("Customers")
        TRANSACTIONS = "transactions", _("Transactions")
        INTERACTIONS = "interactions", _("Interactions")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be checked")
        CHECKING = "checking", _("Checking")
        CHECKED = "checked", _("Checked, waiting for confirmation")
        QUEUED = "queued", _("Waiting to import")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Imported")
        REJECTED = "rejected", _("Rejected")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    BUSY_STATUSES = (Status.PENDING, Status.CHECKING, Status.QUEUED, Status.RUNNING)

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="import_runs"
    )
    source = models.CharField(_("source"), max_length=16, default="upload")  # upload / command
    file_name = models.CharField(_("file name"), max_length=255)
    stored_path = models.CharField(max_length=500, blank=True)
    file_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    file_size = models.BigIntegerField(default=0)
    skip_invalid = models.BooleanField(_("import good rows, skip bad ones"), default=False)
    rows_total = models.PositiveBigIntegerField(default=0)
    rows_processed = models.PositiveBigIntegerField(default=0)
    rows_new = models.PositiveBigIntegerField(default=0)
    rows_updated = models.PositiveBigIntegerField(default=0)
    rows_unchanged = models.PositiveBigIntegerField(default=0)
    rows_rejected = models.PositiveBigIntegerField(default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    error_count = models.PositiveIntegerField(default=0)
    warnings = models.JSONField(_("warnings"), default=list, blank=True)
    rejects_path = models.CharField(max_length=500, blank=True)
    preview = models.JSONField(_("first rows"), default=list, blank=True)
    progress_note = models.CharField(_("progress"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        indexes = [models.Index(fields=["kind", "status", "file_sha256"], name="importrun_kind_hash")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} import of {self.file_name} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("customers:import_detail", args=[self.pk])
