from django.urls import path

from winback import ops_views, staff_views

app_name = "staff"
urlpatterns = [
    path("users/", staff_views.user_list, name="user_list"),
    path("users/new/", staff_views.user_create, name="user_create"),
    path("users/<int:pk>/", staff_views.user_edit, name="user_edit"),
    path("jobs/", ops_views.jobs, name="jobs"),
]
