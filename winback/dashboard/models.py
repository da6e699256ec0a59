"""The dashboard's monthly fact tables. Each is rebuilt by `winback.dashboard.refresh` from the
customers, defection events, invitations and cases; the page reads only these.

Dimensions are plain integers, 0 meaning "none": `segment_key` (the customer's segment, or the
case's), `manager_key` (the customer's account manager; for case facts the case's owner). They are
the values at the time of the refresh. Months are the first day of the month in the business time
zone.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class FactRefresh(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    trigger = models.CharField(_("started by"), max_length=32, default="command")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    seconds = models.FloatField(_("seconds"), default=0)
    rows = models.JSONField(_("rows written"), default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("dashboard refresh")
        verbose_name_plural = _("dashboard refreshes")
        indexes = [models.Index(fields=["status", "finished_at"], name="factrefresh_latest")]
        permissions = [("view_dashboard", _("Can see the churn dashboard"))]

    def __str__(self) -> str:
        return f"Dashboard refresh {self.started_at:%Y-%m-%d %H:%M} ({self.status})"


class Fact(models.Model):
    month = models.DateField()
    segment_key = models.IntegerField(default=0, db_default=0)
    manager_key = models.IntegerField(default=0, db_default=0)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{type(self).__name__} {self.month:%Y-%m} segment {self.segment_key} manager {self.manager_key}"


class CustomerMonth(Fact):
    """Per month: customers who made their first purchase, defected and came back (the stock of
    active customers at a month's start is the running sum of the months before), invitations
    sent and answered, win-backs and the revenue recovered, offers accepted and their cost, and
    the at-risk count at the month's end (known for the months a refresh or backfill saw end)."""

    new_customers = models.IntegerField(default=0, db_default=0)
    defected_out = models.IntegerField(default=0, db_default=0)  # defections of customers who had bought before
    returned = models.IntegerField(default=0, db_default=0)  # win-backs of those defections
    won_back = models.IntegerField(default=0, db_default=0)
    recovered_revenue = models.DecimalField(max_digits=18, decimal_places=2, default=0, db_default=0)
    offer_revenue = models.DecimalField(
        max_digits=18, decimal_places=2, default=0, db_default=0
    )  # of customers with an accepted offer
    offers_accepted = models.IntegerField(default=0, db_default=0)
    offer_cost = models.DecimalField(max_digits=18, decimal_places=2, default=0, db_default=0)
    survey_sent = models.IntegerField(default=0, db_default=0)
    survey_answered = models.IntegerField(default=0, db_default=0)

    class Meta:
        indexes = [models.Index(fields=["month", "segment_key", "manager_key"], name="customermonth_month")]


class AtRiskMonth(Fact):
    """At-risk customers at the end of a month (or now, for the current month). Written by each
    refresh for the current month and by `backfill_history` for the months it replays."""

    at_risk = models.IntegerField(default=0, db_default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["month", "segment_key", "manager_key"], name="atriskmonth_unique")
        ]


class DefectionMonth(Fact):
    """Defection events by the month of their as-of day (dismissed false alarms excluded), with
    how far each got along the win-back funnel."""

    kind = models.CharField(max_length=16)
    reason = models.CharField(max_length=32, blank=True, db_default="")
    events = models.IntegerField(default=0, db_default=0)
    lost_revenue = models.DecimalField(max_digits=18, decimal_places=2, default=0, db_default=0)
    invited = models.IntegerField(default=0, db_default=0)
    answered = models.IntegerField(default=0, db_default=0)
    contacted = models.IntegerField(default=0, db_default=0)
    offered = models.IntegerField(default=0, db_default=0)
    won_back = models.IntegerField(default=0, db_default=0)

    class Meta:
        indexes = [models.Index(fields=["month", "segment_key", "manager_key"], name="defectionmonth_month")]


class CaseMonth(Fact):
    """Cases by owner (manager_key) and the case's segment: opened, first contacts with the hours
    they took ({hours: cases}), closed by outcome, recovered revenue of won-back cases, and the
    open cases, money at stake and overdue ones at the month's end (now, for the current month)."""

    opened = models.IntegerField(default=0, db_default=0)
    first_contacts = models.IntegerField(default=0, db_default=0)
    contact_hours = models.JSONField(default=dict, db_default={})
    won = models.IntegerField(default=0, db_default=0)
    lost = models.IntegerField(default=0, db_default=0)
    let_go = models.IntegerField(default=0, db_default=0)
    recovered_revenue = models.DecimalField(max_digits=18, decimal_places=2, default=0, db_default=0)
    open_end = models.IntegerField(default=0, db_default=0)
    stake_end = models.DecimalField(max_digits=18, decimal_places=2, default=0, db_default=0)
    overdue_end = models.IntegerField(default=0, db_default=0)

    class Meta:
        indexes = [models.Index(fields=["month", "segment_key", "manager_key"], name="casemonth_month")]


class CohortMonth(Fact):
    """Customers by the month of their first purchase (`cohort`): how many joined, and per month
    how many of them defected and came back, for the retention heatmap."""

    cohort = models.DateField()
    joined = models.IntegerField(default=0, db_default=0)
    defected = models.IntegerField(default=0, db_default=0)
    returned = models.IntegerField(default=0, db_default=0)

    class Meta:
        indexes = [models.Index(fields=["cohort", "month"], name="cohortmonth_cohort")]
