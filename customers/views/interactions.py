"""Work in progress: replaced by the real views in this change."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def interaction_create(request, pk=None):
    return HttpResponse("")


@login_required
def interaction_resolve(request, pk=None):
    return HttpResponse("")


@login_required
def open_requests(request, pk=None):
    return HttpResponse("")
