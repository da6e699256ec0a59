"""Sending invitations and reminders from the outbox rows (RELIABILITY.md JOB-01, 02, 05, 10).

The row's status is the truth. A batch is claimed in one short transaction — due rows locked with
SELECT … FOR UPDATE SKIP LOCKED, so two workers never take the same row — and inside that same
transaction every customer is checked again against the suppression list and their contact
preferences (JOB-10): rows that may no longer be mailed become `skipped_*` and send nothing. The
claimed rows become `sending` with `claimed_at`, one more attempt, a new link each, and a lease:
`next_attempt_at` is set to the end of the lease. Then each row's message is built, sent, and the
row marked `sent` in its own UPDATE (its own short transaction). A worker that dies leaves rows
`sending`; when the lease ends they are due again and are re-sent with the same Message-ID,
counted in `possible_duplicates`.

Failures: a 4xx answer or a dropped connection puts the row back to `pending` with exponential
backoff and jitter (60 s base, 1 h cap) until the fifth attempt, then `failed`; a permanent 5xx
refusal fails it at once; a template that cannot be rendered is retried like a 4xx, so it is
parked as `failed` after five attempts and never loops (JOB-05).

Rate limit: at most `SurveySettings.send_per_minute` claims (invitations and reminders together)
in any 60 seconds, counted in the database from `claimed_at` / `reminder_claimed_at` while a
transaction-level advisory lock serialises the claims of all workers (PostgreSQL; SQLite's
write lock does the same). The beat job also spreads its batches over its period.
"""

import contextlib
import datetime as dt
import random
import smtplib
import time
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings as django_settings
from django.core.mail import get_connection
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import F
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import DefectionEvent
from surveys.mail import build_message, new_message_id, pick_template
from surveys.models import EmailTemplate, Invitation, InvitationStatus, SurveyLink, SurveySettings
from surveys.services.interruptions import TerminationAtMessageBoundary, waiting_for_the_database
from surveys.services.invitations import refusal
from surveys.suppression import suppressed_hashes
from surveys.tokens import mint_link

__all__ = [
    "BATCH_SIZE",
    "LEASE",
    "MAX_ATTEMPTS",
    "backoff",
    "due_invitations",
    "due_reminders",
    "is_permanent",
    "remaining_budget",
    "send_invitation_batch",
    "invitations_retry",
    "plan_batches",
    "send_reminder_batch",
]

BATCH_SIZE = 100
MAX_ATTEMPTS = 5
BACKOFF_BASE = 60  # seconds
BACKOFF_CAP = 3600
# Longer than a send task may live (its hard time limit, surveys.tasks.SEND_TIME_LIMIT): a claim
# older than this belongs to a worker that is gone.
LEASE = dt.timedelta(minutes=10)
# A batch stops starting new messages after this long and gives the rest of its claim back.
BATCH_DEADLINE_SECONDS = 200
RATE_WINDOW = dt.timedelta(seconds=60)
ADVISORY_LOCK = 7_424_001  # any constant the project uses for nothing else


@dataclass
class BatchResult:
    counts: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict[str, int]:
        return dict(self.counts)


def backoff(attempts: int, *, rng: random.Random | None = None) -> dt.timedelta:
    """The wait before the next attempt after `attempts` failed ones: 60 s doubling, capped at an
    hour, with jitter (a random point in the upper half) so retries of a burst spread out."""
    delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(attempts - 1, 0))
    return dt.timedelta(seconds=(rng or random).uniform(delay / 2, delay))


def is_permanent(error: Exception) -> bool:
    """A refusal that will not change on retry: every recipient refused with 5xx, or the message
    refused with 5xx. Connection errors, 4xx answers, and sender or login problems (our
    configuration, which an administrator can fix) are temporary."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _message in error.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(error, smtplib.SMTPSenderRefused | smtplib.SMTPAuthenticationError):
        return False
    if isinstance(error, smtplib.SMTPResponseException):
        return 500 <= error.smtp_code < 600
    try:
        from anymail.exceptions import AnymailInvalidAddress, AnymailRecipientsRefused
    except ImportError:  # pragma: no cover - anymail is in the requirements
        return False
    return isinstance(error, AnymailRecipientsRefused | AnymailInvalidAddress)


def survey_url(token: str) -> str:
    try:
        path = reverse("surveys:open", args=[token])
    except NoReverseMatch:  # the public pages' URL name; the path is the one they serve
        path = f"/s/{token}/"
    return django_settings.SITE_URL.rstrip("/") + path


def remaining_budget(settings: SurveySettings, now: dt.datetime) -> int:
    """How many more messages may be claimed now: the per-minute limit less the claims of the
    last 60 seconds (two index range scans)."""
    since = now - RATE_WINDOW
    used = Invitation.objects.filter(claimed_at__gt=since, claimed_at__lte=now).count()
    used += Invitation.objects.filter(reminder_claimed_at__gt=since, reminder_claimed_at__lte=now).count()
    return max(settings.send_per_minute - used, 0)


def _serialise_claims() -> None:
    if db_connection.vendor == "postgresql":
        with db_connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK])


def due_invitations(now: dt.datetime):
    """Pending rows whose time has come, and `sending` rows whose lease has ended."""
    return Invitation.objects.filter(
        status__in=[InvitationStatus.PENDING, InvitationStatus.SENDING], next_attempt_at__lte=now
    )


def due_reminders(now: dt.datetime, settings: SurveySettings):
    """Sent, unanswered invitations old enough for their one reminder. Once an invitation is sent,
    `next_attempt_at` times its reminder: the end of a reminder claim's lease, or of a backoff."""
    return Invitation.objects.filter(
        status=InvitationStatus.SENT,
        responded_at__isnull=True,
        response__isnull=True,
        reminder_sent_at__isnull=True,
        reminder_skipped_at__isnull=True,
        sent_at__lte=now - dt.timedelta(days=settings.reminder_after_days),
        next_attempt_at__lte=now,
    )


def _mint_links(rows: list[Invitation], purpose: str, *, now: dt.datetime, settings: SurveySettings) -> None:
    """Each claimed row's new link, stored with the claim (one commit for the batch); the raw
    token waits on the row object for its message. A link whose message never goes is harmless:
    nobody ever sees its token."""
    for row in rows:
        row.survey_token = mint_link(row, purpose, now=now, valid_days=settings.link_valid_days)


# --- invitations ---------------------------------------------------------------------------


def claim_invitations(*, limit: int, now: dt.datetime, settings: SurveySettings) -> tuple[list[Invitation], Counter]:
    """Claims up to `limit` due invitations (one transaction) and returns those to send now."""
    counts: Counter[str] = Counter()
    with transaction.atomic():
        _serialise_claims()
        limit = min(limit, remaining_budget(settings, now))
        if limit <= 0:
            counts["rate_limited"] += 1
            return [], counts
        rows = list(
            due_invitations(now)
            .select_related("customer", "event")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("next_attempt_at", "pk")[:limit]
        )
        counts["due"] += len(rows)
        suppressions = suppressed_hashes(row.customer.email for row in rows)
        claimed, reclaimed, gave_up, skipped = [], [], [], {}
        for row in rows:
            status, reason = refusal(row.customer, suppressions)
            if not status and row.event.status != DefectionEvent.Status.OPEN:
                status, reason = InvitationStatus.CANCELLED, _("The customer is no longer counted as defected.")
            if status:
                skipped.setdefault((status, reason), []).append(row.pk)
            elif row.attempts >= MAX_ATTEMPTS:
                gave_up.append(row.pk)
            else:
                claimed.append(row)
                if row.status == InvitationStatus.SENDING:
                    reclaimed.append(row.pk)
        for (status, reason), pks in skipped.items():
            Invitation.objects.filter(pk__in=pks).update(status=status, skip_reason=reason, claimed_at=None)
            counts[status] += len(pks)
        if gave_up:
            Invitation.objects.filter(pk__in=gave_up).update(
                status=InvitationStatus.FAILED,
                last_error=_("Gave up after %(attempts)s attempts; the last one did not finish.")
                % {"attempts": MAX_ATTEMPTS},
            )
            counts["failed"] += len(gave_up)
        if claimed:
            Invitation.objects.filter(pk__in=[row.pk for row in claimed]).update(
                status=InvitationStatus.SENDING, claimed_at=now, next_attempt_at=now + LEASE, attempts=F("attempts") + 1
            )
        if reclaimed:
            Invitation.objects.filter(pk__in=reclaimed).update(possible_duplicates=F("possible_duplicates") + 1)
            counts["possible_duplicates"] += len(reclaimed)
        _mint_links(claimed, SurveyLink.Purpose.INVITATION, now=now, settings=settings)
    for row in claimed:
        row.status, row.claimed_at, row.attempts = InvitationStatus.SENDING, now, row.attempts + 1
    counts["claimed"] += len(claimed)
    return claimed, counts


def send_invitation_batch(*, limit: int = BATCH_SIZE, now: dt.datetime | None = None) -> dict[str, int]:
    """Claims and sends one batch of due invitations. Safe to run on any number of workers at
    once and to run again after a crash: only what the database says is due is sent."""
    started = time.monotonic()
    settings = SurveySettings.load()
    rows, counts = claim_invitations(limit=limit, now=now or timezone.now(), settings=settings)
    sender = _Sender(settings)
    next_row, in_flight = 0, False
    try:
        with TerminationAtMessageBoundary() as termination:
            for index, row in enumerate(rows):
                termination.stop_here()
                if time.monotonic() - started > BATCH_DEADLINE_SECONDS:
                    _give_back([other.pk for other in rows[index:]])
                    counts["given_back"] += len(rows) - index
                    break
                kind = (
                    EmailTemplate.Kind.INVITATION_CANCELLED
                    if row.event.kind == DefectionEvent.Kind.ACTIVE
                    else EmailTemplate.Kind.INVITATION
                )
                in_flight = True
                outcome = sender.send(row, kind=kind, message_id=row.message_id)
                record = lambda row=row, outcome=outcome: _record_invitation_outcome(row, outcome)  # noqa: E731
                counts[waiting_for_the_database(record)] += 1
                next_row, in_flight = index + 1, False
    except SystemExit as stop:
        # Stopped by a signal (Celery cancels a late-ack task when the broker connection drops;
        # a pool child is stopped on shutdown): the rest of the claim is due again now instead of
        # after the lease (JOB-07). The signal waits for the message being sent to be recorded, so
        # nothing is in flight, unless the signal could not be deferred (a thread other than the
        # main one): that row is claimed again as a possible duplicate. A crash of any other kind
        # keeps its lease (JOB-02).
        if isinstance(stop.code, int) and stop.code < 0:
            with contextlib.suppress(Exception):  # the database may be what failed
                _give_back([other.pk for other in rows[next_row + in_flight :]])
                Invitation.objects.filter(
                    pk__in=[row.pk for row in rows[next_row : next_row + in_flight]], status=InvitationStatus.SENDING
                ).update(next_attempt_at=timezone.now())
        raise
    finally:
        sender.close()
    return dict(counts)


def _give_back(pks: list[int]) -> None:
    Invitation.objects.filter(pk__in=pks, status=InvitationStatus.SENDING).update(
        status=InvitationStatus.PENDING, next_attempt_at=timezone.now(), attempts=F("attempts") - 1
    )


def _record_invitation_outcome(row: Invitation, error: Exception | None) -> str:
    now = timezone.now()
    mine = Invitation.objects.filter(pk=row.pk, status=InvitationStatus.SENDING)
    if error is None:
        mine.update(status=InvitationStatus.SENT, sent_at=now, last_error="")
        return "sent"
    message = f"{type(error).__name__}: {error}"[:2000]
    if is_permanent(error) or row.attempts >= MAX_ATTEMPTS:
        mine.update(status=InvitationStatus.FAILED, last_error=message)
        return "failed"
    mine.update(status=InvitationStatus.PENDING, next_attempt_at=now + backoff(row.attempts), last_error=message)
    return "retry"


# --- reminders -----------------------------------------------------------------------------


def claim_reminders(*, limit: int, now: dt.datetime, settings: SurveySettings) -> tuple[list[Invitation], Counter]:
    counts: Counter[str] = Counter()
    with transaction.atomic():
        _serialise_claims()
        limit = min(limit, remaining_budget(settings, now))
        if limit <= 0:
            counts["rate_limited"] += 1
            return [], counts
        rows = list(
            due_reminders(now, settings)
            .select_related("customer", "event")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("sent_at", "pk")[:limit]
        )
        counts["due"] += len(rows)
        suppressions = suppressed_hashes(row.customer.email for row in rows)
        claimed, skipped = [], {}
        for row in rows:
            _status, reason = refusal(row.customer, suppressions)
            if not reason and row.event.status != DefectionEvent.Status.OPEN:
                reason = _("The customer is no longer counted as defected.")
            if not reason and row.reminder_attempts >= MAX_ATTEMPTS:
                reason = _("Gave up after %(attempts)s attempts; the last one did not finish.") % {
                    "attempts": MAX_ATTEMPTS
                }
            if reason:
                skipped.setdefault(reason, []).append(row.pk)
                continue
            if row.reminder_claimed_at is not None:  # claimed before and neither sent nor failed: a crash
                row.possible_duplicates += 1
                counts["possible_duplicates"] += 1
            row.reminder_message_id = row.reminder_message_id or new_message_id()
            row.reminder_claimed_at = now
            row.next_attempt_at = now + LEASE
            row.reminder_attempts += 1
            claimed.append(row)
        for reason, pks in skipped.items():
            Invitation.objects.filter(pk__in=pks).update(
                reminder_skipped_at=now, last_error=_("Reminder not sent: %(reason)s") % {"reason": reason}
            )
            counts["reminder_skipped"] += len(pks)
        Invitation.objects.bulk_update(
            claimed,
            [
                "reminder_message_id",
                "reminder_claimed_at",
                "next_attempt_at",
                "reminder_attempts",
                "possible_duplicates",
            ],
        )
        _mint_links(claimed, SurveyLink.Purpose.REMINDER, now=now, settings=settings)
    counts["claimed"] += len(claimed)
    return claimed, counts


def send_reminder_batch(*, limit: int = BATCH_SIZE, now: dt.datetime | None = None) -> dict[str, int]:
    """Claims and sends one batch of due reminders: one per invitation at most, ever."""
    started = time.monotonic()
    settings = SurveySettings.load()
    rows, counts = claim_reminders(limit=limit, now=now or timezone.now(), settings=settings)
    sender = _Sender(settings)
    try:
        with TerminationAtMessageBoundary() as termination:
            for row in rows:
                termination.stop_here()  # the rest are retried when their lease ends
                if time.monotonic() - started > BATCH_DEADLINE_SECONDS:
                    break  # likewise
                outcome = sender.send(row, kind=EmailTemplate.Kind.REMINDER, message_id=row.reminder_message_id)
                counts[_record_reminder_outcome(row, outcome)] += 1
    finally:
        sender.close()
    return dict(counts)


def _record_reminder_outcome(row: Invitation, error: Exception | None) -> str:
    now = timezone.now()
    mine = Invitation.objects.filter(pk=row.pk, reminder_sent_at__isnull=True, reminder_skipped_at__isnull=True)
    if error is None:
        mine.update(reminder_sent_at=now)
        return "sent"
    message = (_("Reminder: ") + f"{type(error).__name__}: {error}")[:2000]
    if is_permanent(error) or row.reminder_attempts >= MAX_ATTEMPTS:
        mine.update(reminder_skipped_at=now, last_error=message)
        return "failed"
    # Not claimed any more (so the next claim is no re-send), due again after the backoff.
    mine.update(reminder_claimed_at=None, next_attempt_at=now + backoff(row.reminder_attempts), last_error=message)
    return "retry"


# --- composing and sending one message -------------------------------------------------------


class _Sender:
    """One mail connection and the templates for a batch; sends one row's message at a time."""

    def __init__(self, settings: SurveySettings):
        self.settings = settings
        self.templates: dict[tuple[str, str], EmailTemplate] = {}
        self.connection = get_connection()
        self.opened = False

    def template(self, kind: str, language: str) -> EmailTemplate:
        key = (kind, language)
        if key not in self.templates:
            self.templates[key] = pick_template(kind, language)
        return self.templates[key]

    def send(self, row: Invitation, *, kind: str, message_id: str) -> Exception | None:
        """None when the message was handed over; the error otherwise."""
        try:
            message = build_message(
                customer=row.customer,
                kind=kind,
                language=row.language,
                context={
                    "survey_url": survey_url(row.survey_token),
                    "reviewer_name": row.reviewer_name,
                    "signer_name": row.signer_name,
                    "company_name": self.settings.company_name,
                },
                message_id=message_id,
                signer_name=row.signer_name,
                signer_email=row.signer_email,
                template=self.template(kind, row.language),
                sender=self.settings,
            )
            if not self.opened:  # one connection for the batch (a backend's send would open one per call)
                self.connection.open()
                self.opened = True
            self.connection.send_messages([message])
        except Exception as error:  # noqa: BLE001 - classified by the caller; BaseException (a kill) passes
            self.close()  # a failed connection is not reused; the next send opens a new one
            return error
        return None

    def close(self) -> None:
        self.opened = False
        with contextlib.suppress(Exception):  # closing a broken connection may fail too
            self.connection.close()


# --- pacing the beat job's batches -------------------------------------------------------------


def plan_batches(*, now: dt.datetime, period_seconds: int, batch_size: int = BATCH_SIZE) -> list[tuple[str, int]]:
    """The send batches one beat tick enqueues, as (kind, countdown in seconds): enough batches of
    `batch_size` for the due invitations and then the due reminders, at most the tick's allowance
    (`send_per_minute` × the period); when that limit binds, spread evenly over the period, so the
    per-minute budget is used steadily. Countdowns never exceed the period (JOB-06)."""
    settings = SurveySettings.load()
    allowance = settings.send_per_minute * period_seconds // 60
    invitations = due_invitations(now)[:allowance].count()
    reminders = due_reminders(now, settings)[: max(allowance - invitations, 0)].count()
    kinds = ["invitation"] * -(-invitations // batch_size) + ["reminder"] * -(-reminders // batch_size)
    if invitations + reminders < allowance or len(kinds) <= 1:
        return [(kind, 0) for kind in kinds]
    step = period_seconds / len(kinds)
    return [(kind, int(index * step)) for index, kind in enumerate(kinds)]


def invitations_retry(*, pks, now: dt.datetime | None = None) -> int:
    """Puts failed invitations back in the queue with a fresh set of attempts (the admin's
    "retry" action, after the cause was fixed). Returns how many were failed."""
    return Invitation.objects.filter(pk__in=list(pks), status=InvitationStatus.FAILED).update(
        status=InvitationStatus.PENDING, attempts=0, next_attempt_at=now or timezone.now(), claimed_at=None
    )
