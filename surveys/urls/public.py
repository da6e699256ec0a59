"""The customer-facing survey pages (no login) and the staff preview of a survey."""

from django.urls import path

from surveys.views import public

urlpatterns = [
    path("s/answer/", public.answer, name="answer"),
    path("s/new-link/", public.new_link, name="new_link"),
    path("s/<str:token>/", public.open_link, name="open"),
    path("u/<str:token>/", public.unsubscribe, name="unsubscribe"),
    path("surveys/<int:pk>/preview/", public.preview, name="preview"),
]
