"""Filled in by the lists area."""

urlpatterns = []
