"""Project-wide records: one row per scheduled job slot, so that two beat processes (or a
redelivered message) never run the same slot twice (RELIABILITY.md JOB-04)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class JobRun(models.Model):
    job = models.CharField(_("job"), max_length=100)
    slot = models.CharField(_("slot"), max_length=40)
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(_("outcome"), max_length=200, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("job run")
        verbose_name_plural = _("job runs")
        constraints = [models.UniqueConstraint(fields=["job", "slot"], name="jobrun_one_per_slot")]
        # The Jobs page and the overdue check read each job's latest runs.
        indexes = [models.Index(fields=["job", "-started_at"], name="jobrun_job_latest")]

    def __str__(self) -> str:
        return f"{self.job} @ {self.slot}"


from winback.dashboard.models import (  # noqa: E402,F401  (the dashboard's tables belong to this app)
    AtRiskMonth,
    CaseMonth,
    CohortMonth,
    CustomerMonth,
    DefectionMonth,
    FactRefresh,
)
