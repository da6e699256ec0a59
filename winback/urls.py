from django.contrib import admin
from django.urls import include, path

from winback import ops_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("healthz/ready", ops_views.healthz_ready, name="healthz_ready"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("staff/two-factor/", include("winback.otp_views")),
    path("staff/audit/", include("winback.audit.urls")),
    path("staff/privacy/", include("winback.privacy.urls")),
    path("staff/", include("winback.staff_urls")),
    path("", include("customers.urls")),
    path("", include("surveys.urls")),
    path("cases/", include("cases.urls")),
    path("dashboard/", include("winback.dashboard.urls")),
    path("admin/", admin.site.urls),
]

handler403 = "winback.views.permission_denied"
handler404 = "winback.views.page_not_found"
handler500 = "winback.views.server_error"
