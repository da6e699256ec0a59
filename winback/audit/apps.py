from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "winback.audit"
    label = "audit"
    verbose_name = _("Audit trail")

    def ready(self) -> None:
        # The customer card panel (customers.card_panels) and the Celery task context (task id).
        from winback.audit import card, signals  # noqa: F401
