"""The Imports pages (administrators): upload, check and preview, confirm, progress, rejects."""

from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET

from customers import policy, services, tasks
from customers.import_forms import ImportConfirmForm, ImportUploadForm
from customers.models import ImportRun


def _require_import(request) -> None:
    if not policy.can_import(request.user):
        raise PermissionDenied


def _get_run(request, pk) -> ImportRun:
    _require_import(request)
    return get_object_or_404(ImportRun.objects.select_related("started_by"), pk=pk)


def _declared_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class CappedUploadHandler(FileUploadHandler):
    """Counts the bytes of an uploaded file as they arrive and stops the upload once they pass the
    cap: Django's DATA_UPLOAD_MAX_MEMORY_SIZE does not cover files, and the Content-Length check
    in the view lets a body through that is up to 64 KB over (the form's other fields). First in
    the chain, so no later handler (memory or temporary file) ever gets the bytes past the cap;
    the partial temporary file is closed, and so deleted, by the parser."""

    def __init__(self, limit: int, request=None):
        super().__init__(request)
        self.limit = limit
        self.exceeded = False

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            self.exceeded = True
            # The rest of the body (under 64 KB, see import_new) is read and dropped, so that
            # the client gets the 413 rather than a reset connection.
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None


def _too_large(request, limit: int):
    message = _("The file is larger than %(limit)s, the largest accepted.")
    messages.error(request, message % {"limit": filesizeformat(limit)})
    return render(request, "customers/import_form.html", {"form": ImportUploadForm(), "limit": limit}, status=413)


def _in_background(run: ImportRun) -> bool:
    return run.file_size > settings.WINBACK_IMPORT_BACKGROUND_BYTES


@login_required
@require_GET
def import_list(request):
    _require_import(request)
    runs = ImportRun.objects.select_related("started_by").order_by("-created_at", "-id")
    kind = request.GET.get("kind", "")
    if kind in ImportRun.Kind.values:
        runs = runs.filter(kind=kind)
    page = Paginator(runs, 25).get_page(request.GET.get("page"))
    return render(request, "customers/import_list.html", {"page": page, "kind": kind, "kinds": ImportRun.Kind.choices})


@csrf_exempt  # the CSRF check reads the body, so it runs in _import_form, after the size check
@login_required
def import_new(request):
    _require_import(request)
    limit = settings.WINBACK_IMPORT_MAX_BYTES
    if request.method == "POST":
        if _declared_length(request) > limit + 64 * 1024:
            return _too_large(request, limit)  # refused before the body is read: it never reaches the disk
        cap = CappedUploadHandler(limit, request)
        request.upload_handlers.insert(0, cap)
        request.POST  # noqa: B018 - parses the body now, through the cap
        if cap.exceeded:
            return _too_large(request, limit)
    return _import_form(request, limit)


@csrf_protect
def _import_form(request, limit: int):
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        path = services.store_upload(upload)
        run = services.import_run_create(
            kind=form.cleaned_data["kind"],
            path=path,
            file_name=Path(upload.name).name,
            started_by=request.user,
            source="upload",
            skip_invalid=form.cleaned_data["skip_invalid"],
        )
        if _in_background(run):
            tasks.import_run_check.delay_on_commit(run.pk)
        else:
            services.import_run_check(run_id=run.pk)
        return redirect(run)
    return render(request, "customers/import_form.html", {"form": form, "limit": limit})


@login_required
@never_cache
def import_detail(request, pk):
    run = _get_run(request, pk)
    if request.method == "POST":
        form = ImportConfirmForm(request.POST)
        if not form.is_valid():
            raise Http404
        if form.cleaned_data["action"] == "cancel":
            if services.import_run_cancel(run=run):
                messages.info(request, _("Import cancelled; nothing was written."))
            return redirect("customers:import_list")
        # The box on this page (ticked when the upload asked to skip) is the final word.
        skip_invalid = form.cleaned_data["skip_invalid"]
        if run.error_count and not skip_invalid:
            messages.error(request, _("The file has problems: fix it, or choose to import the good rows only."))
        elif services.import_run_confirm(run=run, skip_invalid=skip_invalid):
            if _in_background(run):
                tasks.import_run_execute.delay_on_commit(run.pk)
            else:
                run = services.import_run_execute(run_id=run.pk)
                _announce(request, run)
        return redirect(run)
    return render(request, "customers/import_detail.html", _detail_context(run))


def _announce(request, run: ImportRun) -> None:
    if run.status == ImportRun.Status.DONE:
        messages.success(request, _("Imported: %(summary)s.") % {"summary": services.import_summary(run)})
    else:
        messages.error(request, _("Nothing was imported: see the problems below."))


def _detail_context(run: ImportRun) -> dict:
    preview = run.preview or []
    return {
        "run": run,
        "busy": run.status in ImportRun.BUSY_STATUSES,
        "summary": services.import_summary(run),
        "preview_header": preview[0] if preview else [],
        "preview_rows": preview[1:],
        "can_confirm": run.status == ImportRun.Status.CHECKED,
    }


@login_required
@require_GET
@never_cache
def import_progress(request, pk):
    """The progress box, polled by htmx while the run is busy; a finished run reloads the page."""
    run = _get_run(request, pk)
    response = render(request, "customers/_import_progress.html", _detail_context(run))
    if run.status not in ImportRun.BUSY_STATUSES and request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_GET
def import_rejects(request, pk):
    run = _get_run(request, pk)
    if not run.rejects_path or not Path(run.rejects_path).is_file():
        raise Http404
    response = FileResponse(
        open(run.rejects_path, "rb"),  # noqa: SIM115 - FileResponse closes it
        as_attachment=True,
        filename=f"import-{run.pk}-problems.csv",
        content_type="text/csv",
    )
    response["Cache-Control"] = "no-store"
    return response
