from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    """Win-back cases (the cases issue). Downstream of customers and surveys."""

    name = "cases"
    verbose_name = _("Win-back cases")

    def ready(self) -> None:
        # The customer card panel this app contributes (customers.card_panels).
        from cases import card  # noqa: F401
