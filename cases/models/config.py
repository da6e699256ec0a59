"""The cases settings administrators change: when a case opens automatically, who gets it,
deadlines in working days (with a holiday list), intensive care and the rescue cycle."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from customers.models import Segment


class CaseSettings(models.Model):
    """One row (pk 1, `.load()`)."""

    open_automatically = models.BooleanField(
        _("open cases automatically"),
        default=True,
        help_text=_("Open a case for each new defection whose estimated annual value reaches the threshold."),
    )
    value_threshold = models.DecimalField(
        _("value threshold"),
        max_digits=14,
        decimal_places=2,
        default=Decimal("1000"),
        validators=[MinValueValidator(0)],
        help_text=_("For customers without a segment, and segments without their own threshold."),
    )
    round_robin = models.BooleanField(
        _("round-robin"),
        default=False,
        help_text=_(
            "Give cases of customers without an account manager to the next active manager in turn; "
            "otherwise they wait in the unassigned pool."
        ),
    )
    round_robin_last = models.ForeignKey(  # the manager who got the last round-robin case
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    first_contact_working_days = models.PositiveSmallIntegerField(
        _("first contact within (working days)"), default=2, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    deadline_working_days = models.PositiveSmallIntegerField(
        _("case deadline (working days)"), default=20, validators=[MinValueValidator(1), MaxValueValidator(250)]
    )
    care_interval_months = models.PositiveSmallIntegerField(
        _("health review every (months)"), default=6, validators=[MinValueValidator(1), MaxValueValidator(24)]
    )
    care_duration_months = models.PositiveSmallIntegerField(
        _("intensive care lasts (months)"), default=24, validators=[MinValueValidator(1), MaxValueValidator(120)]
    )
    rescue_limit = models.PositiveSmallIntegerField(
        _("rescue cases per executive and cycle"), default=10, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    rescue_cycle_months = models.PositiveSmallIntegerField(
        _("rescue cycle (months)"), default=1, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    rescue_candidates = models.PositiveSmallIntegerField(
        _("rescue candidates proposed"), default=30, validators=[MinValueValidator(5), MaxValueValidator(200)]
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("case settings")
        verbose_name_plural = _("case settings")

    def __str__(self) -> str:
        return "Case settings"

    @classmethod
    def load(cls) -> "CaseSettings":
        return cls.objects.get_or_create(pk=1)[0]


class SegmentThreshold(models.Model):
    """A segment's own value threshold for opening cases automatically."""

    segment = models.OneToOneField(Segment, on_delete=models.CASCADE, related_name="case_threshold")
    value_threshold = models.DecimalField(
        _("value threshold"), max_digits=14, decimal_places=2, validators=[MinValueValidator(0)]
    )

    class Meta:
        verbose_name = _("segment threshold")
        verbose_name_plural = _("segment thresholds")

    def __str__(self) -> str:
        return f"{self.segment}: {self.value_threshold}"


class Holiday(models.Model):
    """A day that is not a working day in the business time zone (weekends never are)."""

    day = models.DateField(_("day"), unique=True)
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        ordering = ["day"]
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")

    def __str__(self) -> str:
        return f"{self.day} {self.name}".strip()
