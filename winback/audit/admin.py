from django.contrib import admin

from winback.audit.models import Entry
from winback.roles import is_administrator


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    """Read-only: audit rows are written by database triggers and never edited (docs/audit.md)."""

    list_display = ("created_at", "kind", "object_id", "action", "actor_id", "request_id", "task_id")
    list_filter = ("kind", "action")
    readonly_fields = [field.name for field in Entry._meta.fields]

    def has_view_permission(self, request, obj=None):
        return is_administrator(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
