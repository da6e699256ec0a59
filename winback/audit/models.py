"""One row per recorded change, written only by the database triggers of migration 0001 (never by
the application), readable by the application, rewritten only by winback_audit_pseudonymise()."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Entry(models.Model):
    class Action(models.TextChoices):
        INSERT = "insert", _("created")
        UPDATE = "update", _("changed")
        DELETE = "delete", _("deleted")

    created_at = models.DateTimeField(_("when"))  # statement time, UTC (timestamptz)
    kind = models.CharField(_("what"), max_length=64)  # "app_label.model", e.g. "cases.case"
    action = models.CharField(_("action"), max_length=8, choices=Action.choices)
    object_id = models.BigIntegerField(_("object id"))
    # Plain ids, not foreign keys: an entry outlives the row it describes.
    case_id = models.BigIntegerField(null=True, blank=True)
    customer_id = models.BigIntegerField(null=True, blank=True)
    actor_id = models.BigIntegerField(_("actor"), null=True, blank=True)  # None: a job or the system
    request_id = models.CharField(_("request"), max_length=64, blank=True, default="")
    task_id = models.CharField(_("task"), max_length=64, blank=True, default="")
    context_id = models.UUIDField(null=True, blank=True)
    context = models.JSONField(null=True, blank=True)  # the pghistory context: url, task name, ...
    before = models.JSONField(_("before"), null=True, blank=True)  # changed fields only, on updates
    after = models.JSONField(_("after"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        default_permissions = ("view",)
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="audit_newest"),
            models.Index(fields=["kind", "object_id", "-created_at"], name="audit_object"),
            models.Index(fields=["actor_id", "-created_at"], name="audit_actor"),
            models.Index(fields=["case_id", "-created_at"], name="audit_case"),
            models.Index(fields=["customer_id", "-created_at"], name="audit_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id} {self.action} @ {self.created_at:%Y-%m-%d %H:%M:%S}"
