"""The surveys app's URLs, one module per area: the public survey and unsubscribe pages (no
login), the staff survey editor and settings, the reviewer inbox, and reports/deliverability."""

from surveys.urls import editor, inbox, public, reports

app_name = "surveys"
urlpatterns = public.urlpatterns + editor.urlpatterns + inbox.urlpatterns + reports.urlpatterns
