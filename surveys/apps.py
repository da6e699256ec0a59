from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = _("Surveys")

    def ready(self) -> None:
        # The customer card panels this app contributes (customers.card_panels).
        from surveys import card, card_deliverability  # noqa: F401
