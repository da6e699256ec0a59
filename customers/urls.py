from django.urls import path

from customers.views import customer_forms, customers, detection, imports, interactions

app_name = "customers"
urlpatterns = [
    path("customers/", customers.customer_list, name="list"),
    path("customers/export.csv", customers.customer_export, name="export"),
    path("customers/new/", customer_forms.customer_create, name="create"),
    path("customers/<int:pk>/", customers.customer_detail, name="detail"),
    path("customers/<int:pk>/edit/", customer_forms.customer_edit, name="edit"),
    path("customers/<int:pk>/preferences/", customer_forms.customer_preferences, name="preferences"),
    path("customers/<int:pk>/interactions/new/", interactions.interaction_create, name="interaction_create"),
    path("interactions/<int:pk>/resolve/", interactions.interaction_resolve, name="interaction_resolve"),
    path("requests/", interactions.open_requests, name="open_requests"),
    path("customers/<int:pk>/dismiss/", detection.customer_dismiss, name="dismiss"),
    path("at-risk/", detection.at_risk_list, name="at_risk"),
    path("settings/detection/", detection.detection_settings, name="detection_settings"),
    path("settings/detection/preview/", detection.detection_preview, name="detection_preview"),
    path("settings/detection/apply/", detection.detection_apply_suggestion, name="detection_apply"),
    path("settings/detection/run/", detection.detection_run_now, name="detection_run"),
    path("imports/", imports.import_list, name="import_list"),
    path("imports/new/", imports.import_new, name="import_new"),
    path("imports/<int:pk>/", imports.import_detail, name="import_detail"),
    path("imports/<int:pk>/progress/", imports.import_progress, name="import_progress"),
    path("imports/<int:pk>/rejects.csv", imports.import_rejects, name="import_rejects"),
]
