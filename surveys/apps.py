from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    """Exit surveys (the surveys issue). Downstream of customers; never imports cases."""

    name = "surveys"
    verbose_name = _("Surveys")
