"""Work in progress: replaced by the real views in this change."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def customer_list(request, pk=None):
    return HttpResponse("")


@login_required
def customer_export(request, pk=None):
    return HttpResponse("")


@login_required
def customer_create(request, pk=None):
    return HttpResponse("")


@login_required
def customer_detail(request, pk=None):
    return HttpResponse("")


@login_required
def customer_edit(request, pk=None):
    return HttpResponse("")


@login_required
def customer_preferences(request, pk=None):
    return HttpResponse("")
