"""Filled in by the actions area."""

urlpatterns = []
