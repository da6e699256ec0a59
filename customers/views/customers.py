"""The customer list, its CSV export and the customer card (read-only pages)."""

import csv
import io

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from customers import card_panels, policy, selectors
from customers.models import Customer
from winback.exports import safe_cell
from winback.roles import is_account_manager


def _require_viewer(request) -> None:
    if not policy.can_view_customers(request.user):
        raise PermissionDenied


# (label, sort key or None, CSS classes): the list's columns, left to right.
LIST_COLUMNS = (
    (_("Name"), "name", ""),
    (_("Customer id"), None, "d-none d-md-table-cell"),
    (_("Company"), None, "d-none d-lg-table-cell"),
    (_("Segment"), None, "d-none d-xl-table-cell"),
    (_("Account manager"), None, "d-none d-lg-table-cell"),
    (_("Status"), "status", ""),
    (_("Last purchase"), "last_purchase", "d-none d-sm-table-cell"),
    (_("Orders"), "orders", "text-end d-none d-md-table-cell"),
    (_("Lifetime revenue"), "revenue", "text-end"),
)


def _list_columns(filters: selectors.CustomerListFilters) -> list[dict]:
    """Header cells: a sortable column links to its sort (reversed when it is the current one)."""
    columns = []
    for label, key, css in LIST_COLUMNS:
        column = {"label": label, "css": css, "sort": None, "aria_sort": ""}
        if key:
            current = filters.sort == key
            descending = not filters.descending if current else selectors.SORTS[key][1]
            column["sort"] = f"-{key}" if descending else key
            if current:
                column["aria_sort"] = "descending" if filters.descending else "ascending"
        columns.append(column)
    return columns


@require_GET
@login_required
def customer_list(request):
    _require_viewer(request)
    filters = selectors.CustomerListFilters.from_params(request.GET)
    customers = selectors.customer_list(filters=filters, user=request.user)
    page = Paginator(customers, selectors.PAGE_SIZE).get_page(request.GET.get("page"))
    no_customers_at_all = not page.object_list and (not filters.is_filtered or not selectors.customers_exist())
    context = {
        "page": page,
        "filters": filters,
        "no_customers_at_all": no_customers_at_all,
        "columns": _list_columns(filters),
        "statuses": Customer.Status.choices,
        "segments": selectors.segment_choices(),
        "managers": selectors.account_manager_choices(),
        "do_not_contact_choices": selectors.DO_NOT_CONTACT_CHOICES,
        "show_mine": is_account_manager(request.user),
        "can_create": policy.can_create_customer(request.user),
        "can_export": policy.can_export_customers(request.user),
        "can_import": policy.can_import(request.user),
    }
    return render(request, "customers/customer_list.html", context)


def _text_cell(value: str | None) -> str:
    """Text a spreadsheet would run as a formula gets a leading apostrophe (winback.exports)."""
    return safe_cell(value or "")


def _number_cell(value):
    # Written from int/Decimal, so "-12.50" stays a number and cannot be a formula.
    return "" if value is None else value


def _flag_cell(value: bool) -> str:
    return "true" if value else "false"


def _export_converters() -> list:
    zone = timezone.get_current_timezone()

    def timestamp_cell(value) -> str:
        return "" if value is None else value.astimezone(zone).isoformat()

    special = {
        "do_not_contact": _flag_cell,
        "last_purchase_at": timestamp_cell,
        "order_count": _number_cell,
        "lifetime_revenue": _number_cell,
    }
    return [special.get(header, _text_cell) for header, _column in selectors.EXPORT_COLUMNS]


def _export_chunks(rows, *, rows_per_chunk: int = 1000):
    """CSV text (RFC 4180 quoting by the csv module) in chunks of many rows: one write per row
    would make a million tiny writes."""
    converters = _export_converters()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([header for header, _column in selectors.EXPORT_COLUMNS])
    for count, row in enumerate(rows, start=1):
        writer.writerow([convert(value) for convert, value in zip(converters, row, strict=True)])
        if count % rows_per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@require_GET
@login_required
def customer_export(request):
    _require_viewer(request)
    if not policy.can_export_customers(request.user):
        raise PermissionDenied
    filters = selectors.CustomerListFilters.from_params(request.GET)
    rows = selectors.customer_export_rows(filters=filters, user=request.user)
    response = StreamingHttpResponse(_export_chunks(rows), content_type="text/csv; charset=utf-8")
    filename = f"customers-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@login_required
def customer_detail(request, pk: int):
    _require_viewer(request)
    customer = get_object_or_404(selectors.customer_card_queryset(), pk=pk)
    card = selectors.customer_card(customer=customer)
    context = {
        "customer": customer,
        "card": card,
        "can_edit": policy.can_edit_customer(request.user, customer),
        "can_dismiss_alarm": policy.can_dismiss_alarm(request.user, customer),
        "can_log_interaction": policy.can_log_interaction(request.user, customer),
        "panels": card_panels.panels_for(customer, request.user),
    }
    return render(request, "customers/customer_detail.html", context)
