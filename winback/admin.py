"""The record of scheduled job slots, read-only: rows are written by the jobs alone (winback.jobs)."""

from django.contrib import admin

from winback.models import JobRun
from winback.roles import is_administrator


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin):
    list_display = ["job", "slot", "started_at", "finished_at", "outcome"]
    list_filter = ["job"]
    search_fields = ["=job", "slot"]
    date_hierarchy = "started_at"
    readonly_fields = ["job", "slot", "started_at", "finished_at", "task_id", "outcome"]

    # The role migration grants administrators the customers and beat apps only; they see this too.
    def has_view_permission(self, request, obj=None) -> bool:
        return super().has_view_permission(request, obj) or (request.user.is_staff and is_administrator(request.user))

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
