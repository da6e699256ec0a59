"""Corrective actions, the rescue cycle, outcomes and the cases settings (literal paths, listed
before the case page's `<int:pk>/`)."""

from django.urls import path

from cases import action_exports
from cases.views import actions, outcomes, rescue, settings

urlpatterns = [
    path("actions/", actions.action_list, name="actions"),
    path("actions/new/", actions.action_new, name="action_new"),
    path("actions/export/<str:fmt>/", action_exports.actions_export, name="actions_export"),
    path("actions/<int:pk>/", actions.action_detail, name="action_detail"),
    path("actions/<int:pk>/edit/", actions.action_edit, name="action_edit"),
    path("actions/<int:pk>/close-the-loop/", actions.action_loop, name="action_loop"),
    path("rescue/", rescue.rescue_page, name="rescue"),
    path("rescue/<int:pk>/take/", rescue.rescue_take, name="rescue_take"),
    path("outcomes/", outcomes.outcomes, name="outcomes"),
    path("settings/", settings.settings_page, name="settings"),
    path("settings/holidays/<int:pk>/remove/", settings.holiday_remove, name="settings_holiday_remove"),
]
