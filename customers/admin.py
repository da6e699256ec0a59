"""The Django admin for administrators: detection settings per segment, and a raw view of
customers, purchases, interactions and import runs that stays fast at a million customers."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from customers.models import (
    BacktestRun,
    Customer,
    DefectionEvent,
    DetectionRun,
    DetectionSettings,
    Dismissal,
    ImportRun,
    Interaction,
    Segment,
    StatusChange,
    Transaction,
)

RULE_COLUMNS = ["at_risk_days", "defected_days", "rhythm_enabled", "rhythm_multiple", "rate_drop_percent"]


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ["name", *RULE_COLUMNS, "case_min_annual_value"]
    list_editable = [*RULE_COLUMNS, "case_min_annual_value"]
    search_fields = ["name"]


@admin.register(DetectionSettings)
class DetectionSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", *RULE_COLUMNS, "updated_at"]

    def has_add_permission(self, request) -> bool:
        return not DetectionSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class RecordAdmin(admin.ModelAdmin):
    """Records written by detection: read here, never added or edited by hand."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DetectionRun)
class DetectionRunAdmin(RecordAdmin):
    list_display = ["started_at", "as_of", "mode", "trigger", "dry_run", "status", "seconds"]
    list_filter = ["mode", "status", "dry_run", "trigger"]


@admin.register(DefectionEvent)
class DefectionEventAdmin(RecordAdmin):
    list_display = ["as_of", "customer", "kind", "relapse", "status", "lost_revenue", "primary_reason", "fault"]
    list_filter = ["status", "kind", "relapse", "primary_reason", "fault"]
    search_fields = ["=customer__external_id"]
    list_select_related = ["customer"]
    raw_id_fields = ["customer", "run"]
    date_hierarchy = "as_of"
    show_full_result_count = False


@admin.register(StatusChange)
class StatusChangeAdmin(RecordAdmin):
    list_display = ["changed_at", "customer", "from_status", "to_status", "rule", "as_of", "actor"]
    list_filter = ["to_status", "rule"]
    search_fields = ["=customer__external_id"]
    list_select_related = ["customer", "actor"]
    raw_id_fields = ["customer", "run", "actor"]
    show_full_result_count = False


@admin.register(Dismissal)
class DismissalAdmin(RecordAdmin):
    list_display = ["created_at", "customer", "kind", "until", "created_by"]
    list_filter = ["kind"]
    search_fields = ["=customer__external_id"]
    list_select_related = ["customer", "created_by"]
    raw_id_fields = ["customer", "created_by"]


@admin.register(BacktestRun)
class BacktestRunAdmin(RecordAdmin):
    list_display = ["created_at", "from_month", "to_month", "horizon_days", "seconds"]


FIGURES = [
    "orders_365d",
    "revenue_365d",
    "orders_prev_365d",
    "revenue_prev_365d",
    "orders_90d",
    "orders_90d_base",
    "median_gap_days",
    "annual_value",
    "metrics_as_of",
    "last_cancellation_at",
    "won_back_at",
    "dismissed_until",
]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = [
        "external_id",
        "name",
        "email",
        "company",
        "segment",
        "account_manager",
        "status",
        "do_not_contact",
        "last_purchase_at",
        "lifetime_revenue",
    ]
    list_display_links = ["external_id", "name"]
    list_filter = ["status", "segment", "do_not_contact"]
    search_fields = ["=external_id", "name", "email"]
    list_select_related = ["segment", "account_manager"]
    raw_id_fields = ["account_manager"]
    readonly_fields = [
        # Statuses move through detection, dismissals and cases, which record why.
        "status",
        "status_changed_at",
        "first_purchase_at",
        "last_purchase_at",
        "order_count",
        "lifetime_revenue",
        "r_score",
        "f_score",
        "m_score",
        *FIGURES,
        "survey_opt_out_at",
        "created_at",
        "updated_at",
    ]
    # Counting a million rows on every page load costs more than the number is worth.
    show_full_result_count = False
    fieldsets = [
        (None, {"fields": ["external_id", "name", "email", "phone", "company", "segment", "account_manager"]}),
        (_("Status"), {"fields": ["status", "status_changed_at", "language"]}),
        (_("Contact preferences"), {"fields": ["do_not_contact", "preferred_channel", "contact_notes"]}),
        (
            _("Metrics"),
            {
                "fields": [
                    "first_purchase_at",
                    "last_purchase_at",
                    "order_count",
                    "lifetime_revenue",
                    ("r_score", "f_score", "m_score"),
                    *FIGURES,
                    "survey_opt_out_at",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
    ]


@admin.register(Transaction)
class TransactionAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "customer", "kind", "amount", "external_id"]
    list_filter = ["kind"]
    search_fields = ["=external_id", "=customer__external_id"]
    list_select_related = ["customer"]
    raw_id_fields = ["customer"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "customer", "kind", "channel", "status", "owner", "due_at", "resolved_at"]
    list_filter = ["kind", "status", "channel"]
    search_fields = ["=customer__external_id"]
    list_select_related = ["customer", "owner"]
    raw_id_fields = ["customer", "owner", "created_by"]
    readonly_fields = ["created_at"]
    show_full_result_count = False


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    """The record of every import: kept as it happened, so nobody adds or edits one here."""

    list_display = [
        "created_at",
        "kind",
        "status",
        "file_name",
        "source",
        "started_by",
        "rows_total",
        "rows_new",
        "rows_updated",
        "rows_rejected",
        "finished_at",
    ]
    list_filter = ["kind", "status"]
    list_select_related = ["started_by"]
    ordering = ["-created_at", "-id"]
    search_fields = ["file_name"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
