"""Filled in by the case area."""

urlpatterns = []
