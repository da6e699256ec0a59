"""Erasure of a customer (RELIABILITY.md PRIV-05; docs/privacy.md "Erasure").

One transaction removes the customer's personal data from every table of the inventory, cancels
what was still to be sent, kills their survey links, keeps their address only as the suppression
list's HMAC, pseudonymises the audit rows about them and records the erasure itself without
personal data. The customer row, its purchases and defection events stay, anonymised, so the
dashboard's figures do not change. Stored import files lose the customer's lines and the
cached survey counters of their links are dropped.
"""

import datetime as dt
import importlib
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from cases.models import Activity, Case, CaseEvent
from customers.models import Customer, ImportRun
from surveys import public_cache
from surveys.models import Invitation, InvitationStatus, ResponseReply, Suppression, SurveyLink
from surveys.suppression import suppress
from winback.audit.models import Entry
from winback.privacy.export import AUDIT_KIND
from winback.privacy.inventory import CATEGORIES, plain

__all__ = ["ERASED", "ErasureResult", "Identifiers", "customer_erase", "erased_name"]

ERASED = "[erased]"  # what an identifier quoted in staff text becomes
AUDIT_REPLACEMENT = "erased"  # what winback_audit_pseudonymise() writes over the audit rows' strings
FREE_TEXT_HISTORY = (CaseEvent.Kind.NOTE, CaseEvent.Kind.ACTIVITY, CaseEvent.Kind.EMAIL)


def erased_name(pk: int) -> str:
    return f"Erased customer #{pk}"


class Identifiers:
    """The customer's name, email, phone and external id, found in free text as whole words
    (case-insensitive), so "sam.jones@example.org" does not match "sam.jones@example.org.uk" nor
    "C-1" match "C-10"."""

    def __init__(self, *values: str):
        words = set()
        for value in values:
            value = (value or "").strip()
            if len(value) >= 3:
                words.add(value)
            digits = re.sub(r"\D", "", value) if value.startswith(("+", "0")) else ""
            if len(digits) >= 6:
                words.add(digits)
        alternatives = "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))
        self.pattern = (
            re.compile(rf"(?<![\w@.+-])(?:{alternatives})(?![\w@-]|\.\w)", re.IGNORECASE) if alternatives else None
        )

    @classmethod
    def of(cls, customer: Customer) -> "Identifiers":
        return cls(customer.name, customer.email, customer.phone, customer.external_id)

    def found_in(self, text: str) -> bool:
        return self.pattern is not None and bool(self.pattern.search(text))

    def scrub(self, value):
        """The value with every identifier replaced by ERASED; dicts and lists are walked."""
        if self.pattern is None:
            return value
        if isinstance(value, str):
            return self.pattern.sub(ERASED, value)
        if isinstance(value, dict):
            return {key: self.scrub(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.scrub(item) for item in value]
        return value


@dataclass
class ErasureResult:
    customer_id: int
    rows: dict[str, int] = field(default_factory=dict)  # rows changed per step
    seconds: float = 0.0


@transaction.atomic
def customer_erase(*, customer_id: int, actor=None, request_id: str = "", now: dt.datetime | None = None):
    """Erases the customer's personal data everywhere (module docstring). Idempotent: erasing an
    erased customer changes nothing more. Returns the rows changed per step."""
    started = time.monotonic()
    now = now or timezone.now()
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    identifiers = Identifiers.of(customer)
    result = ErasureResult(customer_id=customer.pk)
    if customer.email:
        suppress(customer.email, Suppression.Reason.INVALID, customer=customer, note="erasure")
    result.rows["invitations"] = _stop_sending(customer, now)
    for category in CATEGORIES:
        rows = category.rows(customer)
        changed = rows.update(**category.blank) if category.blank else 0
        if category.step == "case_history":
            changed += rows.filter(kind__in=FREE_TEXT_HISTORY).update(summary="", before={}, after={})
        if category.scrub:
            changed += _scrub_rows(rows, category.scrub, identifiers)
        if changed:
            result.rows[category.name] = result.rows.get(category.name, 0) + changed
    result.rows["record"] = (
        plain(Customer)
        .filter(pk=customer.pk)
        .update(
            name=erased_name(customer.pk),
            external_id=f"erased-{customer.pk}",
            email="",
            phone="",
            company="",
            contact_notes="",
            do_not_contact=True,
            preferred_channel="",
            survey_opt_out_at=Coalesce("survey_opt_out_at", now),
            updated_at=now,
        )
    )
    result.rows["import_runs"] = _scrub_import_runs(identifiers)
    result.rows["import_files"] = _scrub_import_files(identifiers)
    result.rows["cache_keys"] = _clear_cache(customer)
    result.rows["audit"] = _pseudonymise_audit(customer.pk)
    Entry.objects.create(
        created_at=now,
        kind=AUDIT_KIND,
        action="erase",
        object_id=customer.pk,
        customer_id=customer.pk,
        actor_id=getattr(actor, "pk", None),
        request_id=request_id[:64],
        after={"action": "erasure", "summary": f"customer #{customer.pk} erased"},
    )
    result.seconds = round(time.monotonic() - started, 3)
    return result


def _stop_sending(customer: Customer, now: dt.datetime) -> int:
    """Cancels the invitations and reminders still to be sent, revokes every survey link (the
    token then gets the plain 404, and a session bound to it no longer opens the form), skips
    unsent replies and stops pending case emails."""
    invitations = plain(Invitation).filter(customer_id=customer.pk)
    changed = invitations.filter(status__in=[InvitationStatus.PENDING, InvitationStatus.SENDING]).update(
        status=InvitationStatus.CANCELLED, skip_reason="Customer erased"
    )
    changed += invitations.filter(reminder_sent_at__isnull=True, reminder_skipped_at__isnull=True).update(
        reminder_skipped_at=now
    )
    changed += (
        plain(SurveyLink).filter(invitation__customer_id=customer.pk, revoked_at__isnull=True).update(revoked_at=now)
    )
    changed += (
        plain(ResponseReply)
        .filter(response__customer_id=customer.pk, status=ResponseReply.Status.PENDING)
        .update(status=ResponseReply.Status.SKIPPED)
    )
    changed += (
        plain(Activity)
        .filter(case__customer_id=customer.pk, email_status=Activity.EmailStatus.PENDING)
        .update(email_status=Activity.EmailStatus.FAILED)
    )
    return changed


def _scrub_rows(rows, columns: tuple[str, ...], identifiers: Identifiers) -> int:
    changed = []
    for obj in rows.only("pk", *columns).iterator(chunk_size=1000):
        dirty = False
        for column in columns:
            value = getattr(obj, column)
            cleaned = identifiers.scrub(value)
            if cleaned != value:
                setattr(obj, column, cleaned)
                dirty = True
        if dirty:
            changed.append(obj)
    if changed:
        plain(type(changed[0])).bulk_update(changed, list(columns), batch_size=500)
    return len(changed)


def _scrub_import_runs(identifiers: Identifiers) -> int:
    """The first rows and errors kept on import runs (shown on the import page) lose the
    customer's values."""
    changed = 0
    for run in ImportRun.objects.only("pk", "preview", "errors", "warnings").iterator(chunk_size=200):
        values = {name: identifiers.scrub(getattr(run, name)) for name in ("preview", "errors", "warnings")}
        values = {name: value for name, value in values.items() if value != getattr(run, name)}
        if values:
            changed += ImportRun.objects.filter(pk=run.pk).update(**values)
    return changed


def import_files_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "imports"


def _scrub_import_files(identifiers: Identifiers) -> int:
    """Uploaded files waiting for confirmation and the rejects reports under MEDIA_ROOT/imports
    lose the lines that name the customer (rewritten through a temporary file, then swapped in)."""
    root = import_files_root()
    if not root.is_dir():
        return 0
    rewritten = 0
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        with open(path, encoding="utf-8", errors="surrogateescape", newline="") as source:
            if not any(identifiers.found_in(line) for line in source):
                continue
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".erasure-")
        with (
            os.fdopen(handle, "w", encoding="utf-8", errors="surrogateescape", newline="") as target,
            open(path, encoding="utf-8", errors="surrogateescape", newline="") as source,
        ):
            for line in source:
                if not identifiers.found_in(line):
                    target.write(line)
        os.chmod(temporary, path.stat().st_mode & 0o777)
        os.replace(temporary, path)
        rewritten += 1
    return rewritten


def _clear_cache(customer: Customer) -> int:
    """Drops the survey pages' counters of the customer's links and invitations (keys made from a
    token's hash or an invitation id, surveys.ratelimit) from a shared Redis cache, and empties
    this process's survey page cache. Other caches hold nothing per customer."""
    public_cache.clear()
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return 0
    hashes = plain(SurveyLink).filter(invitation__customer_id=customer.pk).values_list("token_hash", flat=True)
    invitation_ids = plain(Invitation).filter(customer_id=customer.pk).values_list("pk", flat=True)
    keys = [f"t:{digest[:32]}" for digest in hashes] + [f"i:{pk}" for pk in invitation_ids]
    client = backend._cache.get_client(write=True)
    doomed = []
    for key in keys:
        doomed.append(backend.make_key(f"surveys:throttle-logged:{key}"))
        doomed.extend(client.scan_iter(match=backend.make_key(f"surveys:rl:token:*:{key}:*"), count=1000))
    return client.delete(*doomed) if doomed else 0


def _pseudonymise_audit(customer_id: int) -> int:
    """PostgreSQL: the one privileged function (winback.audit, docs/audit.md) rewrites the audit
    rows about the customer, after this transaction's own audited writes. SQLite records no audit
    trail through triggers; its rows (written by the application) are rewritten the same way."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT winback_audit_pseudonymise('customer', %s, %s)", [customer_id, AUDIT_REPLACEMENT])
            return cursor.fetchone()[0]
    kept = importlib.import_module("winback.audit.migrations.0002_triggers").KEPT_KEYS
    changed = 0
    # The same rows as the function's (audit migration 0003): the customer's, and those filed under
    # their cases only (a corrective action carries its source case, not the customer).
    about = Q(customer_id=customer_id) | Q(case_id__in=Case.objects.filter(customer_id=customer_id).values("pk"))
    for entry in Entry.objects.filter(about).only("pk", "before", "after"):
        values = {name: _audit_scrub(getattr(entry, name), kept) for name in ("before", "after")}
        changed += Entry.objects.filter(pk=entry.pk).update(**values)
    return changed


def _audit_scrub(data, kept):
    if not isinstance(data, dict):
        return data
    return {
        key: AUDIT_REPLACEMENT
        if isinstance(value, str) and not key.endswith(("_at", "_on")) and key not in kept
        else value
        for key, value in data.items()
    }
