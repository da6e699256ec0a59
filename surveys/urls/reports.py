"""Reports and deliverability: the survey figures, the answer exports, the administrators'
invitation list, the "email invalid" mark on the customer card, and the mail provider's
tracking webhook (Anymail; /anymail/<WINBACK_ESP>/tracking/, public, basic auth)."""

from django.conf import settings
from django.urls import path

from surveys.views import exports, reports

urlpatterns = [
    path("surveys/figures/", reports.survey_figures, name="figures"),
    path("surveys/responses/export.csv", exports.answers_export_csv, name="answers_export_csv"),
    path("surveys/responses/export.xlsx", exports.answers_export_xlsx, name="answers_export_xlsx"),
    path("surveys/invitations/", reports.invitation_list, name="invitation_list"),
    path("customers/<int:pk>/email-invalid/", reports.mark_email_invalid, name="mark_email_invalid"),
    path("customers/<int:pk>/email-invalid/undo/", reports.unmark_email_invalid, name="unmark_email_invalid"),
    path(f"anymail/{settings.WINBACK_ESP}/tracking/", reports.anymail_tracking, name="anymail_tracking"),
]
