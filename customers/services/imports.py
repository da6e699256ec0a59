"""Imports of customers, transactions and interactions from CSV files.

An import is an `ImportRun`. Browser uploads are first checked (a dry run that reports every
problem and what would change, writing nothing), then confirmed; commands import directly. Either
way a file with a bad row is rejected whole unless `skip_invalid` is set, in which case the good
rows are imported and the rejects are written, with their reasons, to a CSV file.
"""

import csv
import hashlib
import logging
import shutil
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from psycopg import errors as psycopg_errors

from customers import import_rows, importers, loaders
from customers.models import ImportRun, Interaction
from winback.logs import security_event

__all__ = [
    "import_file",
    "import_run_cancel",
    "import_run_check",
    "import_run_confirm",
    "import_run_create",
    "import_run_execute",
    "import_summary",
    "store_upload",
]

logger = logging.getLogger(__name__)
LOCK_KEY = 730_001  # PostgreSQL advisory lock that serialises the write phase of imports
MAX_STORED_ERRORS = 1000
# The largest block read_blocks may use: blocks are 1 MB (customers.importers.MAX_BLOCK_BYTES), more
# only when a long header needs it (up to this).
BLOCK_BYTES = 4 * 1024 * 1024
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class _DryRun(Exception):
    """Raised inside the write transaction of a check to roll everything back."""


def imports_dir() -> Path:
    folder = Path(settings.MEDIA_ROOT) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def store_upload(upload) -> Path:
    """Streams an uploaded file to the imports folder under a random name (never the user's)."""
    target = imports_dir() / f"{uuid.uuid4().hex}.csv"
    with open(target, "wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    target.chmod(0o640)
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def import_run_create(
    *, kind: str, path: Path, file_name: str, started_by=None, source: str = "upload", skip_invalid: bool = False
) -> ImportRun:
    """Records a file to import (its size and SHA-256 identify a re-import of the same file)."""
    path = Path(path)
    return ImportRun.objects.create(
        kind=kind,
        started_by=started_by,
        source=source,
        file_name=file_name[:255],
        stored_path=str(path),
        file_size=path.stat().st_size,
        file_sha256=_sha256(path),
        skip_invalid=skip_invalid,
    )


def import_file(*, kind: str, path: Path, started_by=None, skip_invalid: bool = False, dry_run: bool = False):
    """Imports a file at once (the management commands): create the run and execute or check it."""
    run = import_run_create(
        kind=kind,
        path=path,
        file_name=Path(path).name,
        started_by=started_by,
        source="command",
        skip_invalid=skip_invalid,
    )
    return import_run_check(run_id=run.pk) if dry_run else import_run_execute(run_id=run.pk)


def import_run_check(*, run_id: int) -> ImportRun:
    """The dry run behind the preview: every problem and what would change, nothing written."""
    return _run(run_id, claim_from=[ImportRun.Status.PENDING], working=ImportRun.Status.CHECKING, dry_run=True)


def import_run_confirm(*, run: ImportRun, skip_invalid: bool) -> bool:
    """Marks a checked run to be imported; False when it was not waiting for confirmation."""
    return bool(
        ImportRun.objects.filter(pk=run.pk, status=ImportRun.Status.CHECKED).update(
            status=ImportRun.Status.QUEUED, skip_invalid=skip_invalid, progress_note=""
        )
    )


def import_run_cancel(*, run: ImportRun) -> bool:
    """Drops a checked run that the user decided not to import, and its stored file."""
    cancelled = ImportRun.objects.filter(pk=run.pk, status=ImportRun.Status.CHECKED).update(
        status=ImportRun.Status.CANCELLED, finished_at=timezone.now()
    )
    if cancelled and run.source == "upload":
        Path(run.stored_path).unlink(missing_ok=True)
    return bool(cancelled)


def import_run_execute(*, run_id: int) -> ImportRun:
    """Imports the file of the run: all or nothing, unless the run skips invalid rows."""
    return _run(
        run_id,
        claim_from=[ImportRun.Status.PENDING, ImportRun.Status.QUEUED],
        working=ImportRun.Status.RUNNING,
        dry_run=False,
    )


def _context() -> importers.Context:
    users = {}
    for pk, username, email in get_user_model().objects.filter(is_active=True).values_list("pk", "username", "email"):
        if email:
            users.setdefault(email.lower(), pk)
        users[username.lower()] = pk
    now_us = int(timezone.now().timestamp() * 1_000_000)
    return importers.Context(time_zone=settings.TIME_ZONE, now_us=now_us, users=users)


class _Phases:
    """Names the current step on the run's page and logs how long each step took."""

    def __init__(self, run: ImportRun):
        self.run, self.name, self.started, self.seconds = run, "", time.monotonic(), {}

    def start(self, name: str) -> None:
        self._close()
        self.name, self.started = name, time.monotonic()
        ImportRun.objects.filter(pk=self.run.pk).update(progress_note=name)

    def _close(self) -> None:
        if self.name:
            self.seconds[self.name] = round(time.monotonic() - self.started, 2)

    def log(self) -> None:
        self._close()
        logger.info("Import run %s took %s", self.run.pk, self.seconds)


class _Report:
    """Errors of one run: all go to the rejects CSV, the first ones to the run's record."""

    def __init__(self, run: ImportRun):
        self.run = run
        self.count = 0
        self.lines: set[int] = set()
        self.stored: list[dict] = []
        self.path = imports_dir() / f"rejects-{run.pk}-{uuid.uuid4().hex[:8]}.csv"
        self.handle = open(self.path, "w", newline="", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self.writer = csv.writer(self.handle)
        self.writer.writerow(["line", "column", "code", "message", "value"])

    def add(self, error) -> None:
        data = error.as_dict()
        self.count += 1
        if data["line"]:
            self.lines.add(data["line"])
        if len(self.stored) < MAX_STORED_ERRORS:
            self.stored.append(data)
        value = data["value"]
        if value.startswith(FORMULA_PREFIXES):
            value = "'" + value
        self.writer.writerow([data["line"] or "", data["column"], data["code"], data["message"], value])

    def close(self) -> str:
        self.handle.close()
        if not self.count:
            self.path.unlink(missing_ok=True)
            return ""
        return str(self.path)


def _run(run_id: int, *, claim_from, working, dry_run: bool) -> ImportRun:
    claimed = ImportRun.objects.filter(pk=run_id, status__in=claim_from).update(status=working)
    run = ImportRun.objects.get(pk=run_id)
    if not claimed:
        return run  # someone else has it, or it is finished: running twice changes nothing
    spec = importers.SPECS[run.kind]
    stage = loaders.Stage(run.kind, run.pk)
    report = _Report(run)
    result = {"rows_new": 0, "rows_updated": 0, "rows_unchanged": 0}
    warnings: list[str] = []
    total = 0
    phases = _Phases(run)
    try:
        phases.start("Reading the file")
        layout = importers.inspect(Path(run.stored_path), spec)
        warnings += layout.warnings()
        ImportRun.objects.filter(pk=run.pk).update(preview=importers.first_rows(Path(run.stored_path), layout))
        stage.create()
        for block in importers.read_blocks(
            Path(run.stored_path), spec, layout, _context(), BLOCK_BYTES, import_rows.CHECKS[run.kind]
        ):
            stage.append(block.rows)
            for error in block.errors:
                report.add(error)
            total += block.records + sum(1 for e in block.errors if e.code == "ragged_row")
            ImportRun.objects.filter(pk=run.pk).update(rows_processed=total)
        if total == 0:
            raise importers.FileRejected("no_rows", "The file has a header but no rows.", 2)
        phases.start("Checking customers and duplicates")
        # A check removes the bad rows too, so that it can say what importing the good ones would do.
        remove = run.skip_invalid or dry_run
        for error in stage.unknown_customer_errors(remove=remove):
            report.add(error)
        if remove or not stage.keys_enforced_by_upsert:
            for error in stage.repeated_key_errors(remove=remove):
                report.add(error)
        if report.count and not remove:
            final = ImportRun.Status.REJECTED
        else:
            phases.start("Writing")
            try:
                result, notes = _write(run, stage, layout, dry_run=dry_run)
                warnings += notes
                final = ImportRun.Status.CHECKED if dry_run else ImportRun.Status.DONE
            except DatabaseError as error:
                if not isinstance(error.__cause__, psycopg_errors.CardinalityViolation):
                    raise
                # A key repeated in the file: rolled back; now say where.
                for repeat in stage.repeated_key_errors(remove=False):
                    report.add(repeat)
                final = ImportRun.Status.REJECTED
    except importers.FileRejected as rejected:
        report.add(rejected)
        final = ImportRun.Status.REJECTED
    except Exception:
        logger.exception("Import run %s failed", run.pk)
        report.add(importers.FileRejected("internal_error", "The import failed unexpectedly; nothing was written."))
        final = ImportRun.Status.FAILED
    finally:
        try:
            stage.drop()
        except Exception:  # the connection may be gone; the stage is scratch
            logger.warning("Could not drop %s", stage.name)
    phases.log()
    if run.rejects_path:  # the report of an earlier check is superseded by this one
        Path(run.rejects_path).unlink(missing_ok=True)
    if run.source == "upload" and final != ImportRun.Status.CHECKED:
        # Uploaded files hold personal data: kept only until the run is decided.
        Path(run.stored_path).unlink(missing_ok=True)
    ImportRun.objects.filter(pk=run.pk).update(
        status=final,
        rows_total=total,
        rows_processed=total,
        rows_rejected=len(report.lines),
        errors=sorted(report.stored, key=lambda error: error["line"] or 0),
        error_count=report.count,
        warnings=warnings,
        rejects_path=report.close(),
        progress_note="",
        finished_at=None if dry_run and final == ImportRun.Status.CHECKED else timezone.now(),
        **result,
    )
    run.refresh_from_db()
    logger.info("Import run %s (%s) %s: %s", run.pk, run.kind, run.status, import_summary(run))
    if final in (ImportRun.Status.REJECTED, ImportRun.Status.FAILED):  # codes only: no values (PRIV-08)
        codes = sorted({error.get("code", "") for error in run.errors or []})
        security_event(
            "import_rejected",
            run_id=run.pk,
            kind=run.kind,
            status=final,
            errors=run.error_count,
            codes=",".join(codes),
            started_by=run.started_by_id,
        )
    return run


def _write(run: ImportRun, stage: loaders.Stage, layout, *, dry_run: bool) -> tuple[dict, list[str]]:
    """The write phase: one transaction, serialised with other imports; a check rolls it back."""
    outcome: dict = {}
    started = time.monotonic()
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
            notes = _duplicate_file_notes(run, stage)
            staged = stage.count()
            new, updated, upsert_notes = stage.upsert(present=layout.present, actor_id=run.started_by_id)
            outcome = {"rows_new": new, "rows_updated": updated, "rows_unchanged": staged - new - updated}
            notes += upsert_notes
            if run.kind == ImportRun.Kind.INTERACTIONS and (new or updated) and not dry_run:
                _after_interactions(run, stage)
            written = time.monotonic()
            if dry_run:
                raise _DryRun
        logger.info(
            "Import run %s: upsert %.1f s, commit %.1f s", run.pk, written - started, time.monotonic() - written
        )
    except _DryRun:
        pass
    return outcome, notes


def _after_interactions(run: ImportRun, stage: loaders.Stage) -> None:
    """A file with cancellations starts a detection run once the import has committed, so the
    customers who cancelled are flagged active defectors without waiting for the night. (The
    upsert itself marked the customers stale and set their latest cancellation.)"""
    from customers.tasks import detect_defections_task

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {stage.name} WHERE kind = %s LIMIT 1", [Interaction.Kind.CANCELLATION])
        if cursor.fetchone() is None:
            return
    # The import's own slot: a second import in the same minute gets its run too.
    slot = f"import {run.pk}"
    transaction.on_commit(lambda: detect_defections_task.delay(trigger="import", slot=slot))


def _duplicate_file_notes(run: ImportRun, stage: loaders.Stage) -> list[str]:
    earlier = (
        ImportRun.objects.filter(kind=run.kind, file_sha256=run.file_sha256, status=ImportRun.Status.DONE)
        .exclude(pk=run.pk)
        .order_by("-finished_at")
        .first()
    )
    if earlier is None:
        return []
    when = timezone.localtime(earlier.finished_at).strftime("%Y-%m-%d %H:%M")
    if stage.has_rows_without_key():
        raise importers.FileRejected(
            "duplicate_file",
            f"This file was already imported on {when} (import #{earlier.pk}). Its transactions have no "
            "transaction ids, so importing it again would count every purchase twice.",
        )
    return [f"The same file was already imported on {when} (import #{earlier.pk})."]


def import_summary(run: ImportRun) -> str:
    """ "0 new, 0 updated, 5,000 unchanged" (plus rejected rows), as the page and the commands say it."""
    text = f"{run.rows_new:,} new, {run.rows_updated:,} updated, {run.rows_unchanged:,} unchanged"
    if run.rows_rejected:
        text += f", {run.rows_rejected:,} rejected"
    return text


def copy_rejects(run: ImportRun, target: Path) -> bool:
    if not run.rejects_path:
        return False
    shutil.copyfile(run.rejects_path, target)
    return True
