from django.urls import path

from winback.dashboard import drill_views, views

app_name = "dashboard"

urlpatterns = [
    path("", views.home, name="home"),
    path("refresh/", views.refresh, name="refresh"),
    path("report/", views.report, name="report"),
    path("export/<slug:table>.<str:fmt>", drill_views.export, name="export"),
    path("list/<slug:what>/", drill_views.drill, name="drill"),
]
