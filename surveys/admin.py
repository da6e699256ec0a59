"""The Django admin of the surveys app, for administrators (surveys.policy.can_edit_surveys):
surveys with their questions, email templates, the one settings row, and the sending records —
invitations with their status and last error, and a "retry" action for failed ones."""

from django.contrib import admin, messages
from django.shortcuts import redirect
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from surveys.models import (
    Answer,
    EmailEvent,
    EmailTemplate,
    Invitation,
    InvitationStatus,
    Option,
    Question,
    Response,
    ResponseReply,
    Suppression,
    Survey,
    SurveyLink,
    SurveySettings,
)
from surveys.policy import can_edit_surveys
from surveys.services.sending import invitations_retry


class AdministratorsAdmin(admin.ModelAdmin):
    """Open to administrators by role (the role groups hold no surveys permissions)."""

    def _allowed(self, request) -> bool:
        return request.user.is_staff and can_edit_surveys(request.user)

    def has_module_permission(self, request) -> bool:
        return self._allowed(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._allowed(request)

    def has_add_permission(self, request) -> bool:
        return self._allowed(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._allowed(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._allowed(request)


class RecordAdmin(AdministratorsAdmin):
    """Records written by the jobs and the public pages: read here, never added, edited or deleted."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0
    fields = ["position", "kind", "text", "required", "low_label", "high_label"]
    show_change_link = True


class OptionInline(admin.TabularInline):
    model = Option
    extra = 0
    fields = ["position", "label", "reason"]


@admin.register(Survey)
class SurveyAdmin(AdministratorsAdmin):
    list_display = ["title", "language", "is_active", "updated_at"]
    list_filter = ["language", "is_active"]
    inlines = [QuestionInline]


@admin.register(Question)
class QuestionAdmin(AdministratorsAdmin):
    list_display = ["text", "survey", "position", "kind", "required"]
    list_filter = ["kind", "survey__language"]
    list_select_related = ["survey"]
    inlines = [OptionInline]


@admin.register(EmailTemplate)
class EmailTemplateAdmin(AdministratorsAdmin):
    list_display = ["kind", "language", "subject", "updated_at"]
    list_filter = ["kind", "language"]


@admin.register(SurveySettings)
class SurveySettingsAdmin(AdministratorsAdmin):
    """One row: the list opens it directly."""

    raw_id_fields = ["reviewer", "executive_signer"]
    readonly_fields = ["reviewer_digest_sent_at", "updated_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        settings = SurveySettings.load()
        return redirect(f"admin:{settings._meta.app_label}_{settings._meta.model_name}_change", settings.pk)


@admin.register(Invitation)
class InvitationAdmin(AdministratorsAdmin):
    list_display = [
        "created_at",
        "customer",
        "status",
        "language",
        "attempts",
        "possible_duplicates",
        "error",
        "sent_at",
        "reminder_sent_at",
    ]
    list_filter = ["status", "language", "created_at"]
    search_fields = ["=customer__external_id", "=message_id"]
    list_select_related = ["customer"]
    show_full_result_count = False
    actions = ["retry_failed"]
    readonly_fields = [field.name for field in Invitation._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("last error"))
    def error(self, invitation: Invitation) -> str:
        return Truncator(invitation.last_error or invitation.skip_reason).chars(80)

    @admin.action(description=_("Retry the selected failed invitations"), permissions=["change"])
    def retry_failed(self, request, queryset):
        retried = invitations_retry(pks=queryset.filter(status=InvitationStatus.FAILED).values_list("pk", flat=True))
        self.message_user(
            request,
            ngettext("%(count)d invitation will be sent again.", "%(count)d invitations will be sent again.", retried)
            % {"count": retried},
            messages.SUCCESS if retried else messages.WARNING,
        )


@admin.register(SurveyLink)
class SurveyLinkAdmin(RecordAdmin):
    list_display = ["created_at", "invitation", "purpose", "expires_at", "revoked_at"]
    list_filter = ["purpose"]
    raw_id_fields = ["invitation"]
    exclude = ["token_hash"]
    show_full_result_count = False


@admin.register(Suppression)
class SuppressionAdmin(RecordAdmin):
    list_display = ["created_at", "reason", "customer", "note"]
    list_filter = ["reason"]
    list_select_related = ["customer"]
    raw_id_fields = ["customer"]
    exclude = ["email_hash"]


@admin.register(EmailEvent)
class EmailEventAdmin(RecordAdmin):
    list_display = ["occurred_at", "kind", "customer", "message_id", "description"]
    list_filter = ["kind"]
    search_fields = ["=message_id", "=customer__external_id"]
    list_select_related = ["customer"]
    raw_id_fields = ["customer", "invitation"]
    show_full_result_count = False


class AnswerInline(admin.TabularInline):
    model = Answer
    extra = 0
    fields = ["question", "option", "rating", "text"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Response)
class ResponseAdmin(RecordAdmin):
    list_display = ["submitted_at", "customer", "language", "stated_reason", "reviewed_at"]
    list_filter = ["language", "stated_reason"]
    list_select_related = ["customer"]
    raw_id_fields = ["invitation", "customer", "reviewed_by"]
    inlines = [AnswerInline]
    show_full_result_count = False


@admin.register(ResponseReply)
class ResponseReplyAdmin(RecordAdmin):
    list_display = ["created_at", "__str__", "status", "sent_at", "last_error"]
    list_filter = ["kind", "status"]
    raw_id_fields = ["response", "created_by"]
