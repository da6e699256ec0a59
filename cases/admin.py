from django.contrib import admin

from cases.models import (
    Activity,
    Case,
    CaseEvent,
    CaseSettings,
    CorrectiveAction,
    Holiday,
    Offer,
    RescuePick,
    SegmentThreshold,
    Task,
)


class ReadOnlyHistory(admin.TabularInline):
    model = CaseEvent
    extra = 0
    can_delete = False
    fields = ("at", "actor", "kind", "summary")
    readonly_fields = fields
    ordering = ("-at", "-id")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ("id", "customer", "stage", "owner", "value_at_stake", "deadline_at", "opened_at")
    list_filter = ("stage", "is_open", "relapse")
    search_fields = ("customer__name", "customer__external_id", "customer__email")
    raw_id_fields = ("customer", "event", "owner", "previous_case", "rescued_by", "opened_by")
    filter_horizontal = ("followers",)
    list_select_related = ("customer", "owner")
    inlines = [ReadOnlyHistory]
    # Stages move through cases.states only (validated and recorded); the admin shows them.
    readonly_fields = ("stage", "is_open", "closed_at", "won_back_at", "reopened_count")


@admin.register(CaseEvent)
class CaseEventAdmin(admin.ModelAdmin):
    """Read-only: the history cannot be edited or deleted from the application."""

    list_display = ("at", "case", "actor", "kind", "summary")
    list_filter = ("kind",)
    raw_id_fields = ("case", "actor")
    list_select_related = ("actor",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = ("case", "kind", "value", "cost", "expires_on", "status")
    list_filter = ("kind", "status")
    raw_id_fields = ("case", "created_by", "decided_by")


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("title", "case", "kind", "assignee", "due_on", "done_at")
    list_filter = ("kind",)
    raw_id_fields = ("case", "assignee", "created_by", "done_by")


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ("case", "kind", "happened_at", "actor", "reason")
    list_filter = ("kind",)
    raw_id_fields = ("case", "actor")


@admin.register(CorrectiveAction)
class CorrectiveActionAdmin(admin.ModelAdmin):
    list_display = ("title", "reason", "owner", "deadline", "status", "lost_revenue")
    list_filter = ("status", "reason")
    raw_id_fields = ("owner", "source_case", "source_answer", "created_by")
    filter_horizontal = ()
    exclude = ("events",)


admin.site.register(CaseSettings)
admin.site.register(SegmentThreshold)
admin.site.register(Holiday)
admin.site.register(RescuePick, list_display=("cycle_start", "executive", "case", "taken_at"), raw_id_fields=("case",))
