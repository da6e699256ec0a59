"""The administrators' survey editor, survey settings and email templates (under /surveys/)."""

from django.urls import path

from surveys.views import editor, editor_templates

urlpatterns = [
    path("surveys/", editor.survey_list, name="survey_list"),
    path("surveys/new/", editor.survey_create, name="survey_create"),
    path("surveys/<int:pk>/edit/", editor.survey_edit, name="survey_edit"),
    path("surveys/<int:pk>/delete/", editor.survey_delete, name="survey_delete"),
    path("surveys/settings/", editor_templates.survey_settings, name="settings"),
    path("surveys/email-templates/", editor_templates.email_template_list, name="email_template_list"),
    path(
        "surveys/email-templates/<str:kind>/<str:language>/",
        editor_templates.email_template_edit,
        name="email_template_edit",
    ),
    path(
        "surveys/email-templates/<str:kind>/<str:language>/preview/",
        editor_templates.email_template_preview,
        name="email_template_preview",
    ),
]
