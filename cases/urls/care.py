"""Intensive care: a won-back customer's health review."""

from django.urls import path

from cases.views import care

urlpatterns = [
    path("tasks/<int:pk>/review/", care.care_review, name="care_review"),
]
