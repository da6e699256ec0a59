"""The administrators' audit trail page."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from winback.audit import context, selectors
from winback.audit.forms import EntryFilterForm
from winback.roles import is_administrator

PAGE_SIZE = 50


@require_GET
@login_required
def entry_list(request):
    if not is_administrator(request.user):
        raise PermissionDenied
    form = EntryFilterForm(request.GET or None)
    filters = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {
            "kind": data["kind"],
            "object_id": data["object_id"],
            "actor_id": data["actor"].pk if data["actor"] else None,
            "date_from": data["date_from"],
            "date_to": data["date_to"],
        }
    page = Paginator(selectors.entry_list(**filters), PAGE_SIZE).get_page(request.GET.get("page"))
    selectors.decorate(page.object_list)
    return render(
        request,
        "winback/audit/entry_list.html",
        {"form": form, "page": page, "entries": page.object_list, "recording": context.recording()},
    )
