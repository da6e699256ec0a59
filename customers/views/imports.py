"""Work in progress: replaced by the real views in this change."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def import_list(request, pk=None):
    return HttpResponse("")


@login_required
def import_new(request, pk=None):
    return HttpResponse("")


@login_required
def import_detail(request, pk=None):
    return HttpResponse("")


@login_required
def import_progress(request, pk=None):
    return HttpResponse("")


@login_required
def import_rejects(request, pk=None):
    return HttpResponse("")
