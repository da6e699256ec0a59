from django.urls import path

from winback.privacy import views

app_name = "privacy"
urlpatterns = [
    path("customers/<int:pk>/export/", views.export, name="export"),
    path("customers/<int:pk>/erase/", views.erase, name="erase"),
]
