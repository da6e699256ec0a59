"""public URLs (filled in by the surveys work)."""

urlpatterns = []
