"""Sending when things go wrong: a worker dying at each point of a send (JOB-02), temporary and
permanent SMTP refusals and a template that cannot be rendered (JOB-05), stale claims, and the
per-minute rate limit. The mail transport is replaced by test backends defined here — the one
seam the house style allows — and time is moved with time-machine."""

import datetime as dt
import random
import smtplib
from collections import Counter

import pytest
import time_machine
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from surveys.models import EmailTemplate, Invitation, InvitationStatus, SurveySettings
from surveys.services import sending
from surveys.services.invitations import create_invitations
from surveys.tests.test_invitations_create import active_survey, defection
from surveys.tests.test_sending_messages import send_all

pytestmark = pytest.mark.django_db

HERE = "surveys.tests.test_sending_failures"


class CrashingBackend(BaseEmailBackend):
    """Kills the worker (SystemExit) at the `crash_at`-th message: before handing it over
    ("before") or after the server accepted it ("after")."""

    delivered: list[str] = []
    crash_at = 1
    mode = "before"
    seen = 0

    def send_messages(self, messages):
        for message in messages:
            type(self).seen += 1
            crash = type(self).seen == self.crash_at
            if crash and self.mode == "before":
                raise SystemExit("killed before SMTP")
            self.delivered.append(message.extra_headers["Message-ID"])
            if crash:
                raise SystemExit("killed after SMTP 250")
        return len(messages)


class FlakySMTPBackend(BaseEmailBackend):
    """Answers like a real server would: 451 (or a dropped connection) to the first attempt of the
    messages in `temporary`, 550 to every attempt of those in `permanent`."""

    temporary: set[str] = set()
    disconnect: set[str] = set()
    permanent: set[str] = set()
    attempts: Counter = Counter()
    delivered: list[str] = []

    def send_messages(self, messages):
        for message in messages:
            message_id = message.extra_headers["Message-ID"]
            self.attempts[message_id] += 1
            first = self.attempts[message_id] == 1
            if message_id in self.permanent:
                raise smtplib.SMTPRecipientsRefused({message.to[0]: (550, b"5.1.1 mailbox unavailable")})
            if first and message_id in self.temporary:
                raise smtplib.SMTPRecipientsRefused({message.to[0]: (451, b"4.7.1 try again later")})
            if first and message_id in self.disconnect:
                raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
            self.delivered.append(message_id)
        return len(messages)


@pytest.fixture(autouse=True)
def _unlimited():
    SurveySettings.objects.update_or_create(pk=1, defaults={"send_per_minute": 100_000})


@pytest.fixture
def crashing(settings):
    settings.EMAIL_BACKEND = f"{HERE}.CrashingBackend"
    CrashingBackend.delivered, CrashingBackend.seen = [], 0
    return CrashingBackend


def pending(count: int, **customer) -> list[Invitation]:
    active_survey("en")
    events = [defection(**customer) for _ in range(count)]
    create_invitations()
    return list(Invitation.objects.filter(event__in=events).order_by("pk"))


def after_the_lease():
    return time_machine.travel(timezone.now() + sending.LEASE + dt.timedelta(seconds=1), tick=False)


def test_a_worker_killed_after_the_claim_before_smtp_sends_the_message_once_after_recovery(crashing):
    """JOB-02 (a)."""
    [invitation] = pending(1)
    crashing.crash_at, crashing.mode = 1, "before"

    with pytest.raises(SystemExit):
        sending.send_invitation_batch()

    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.SENDING
    assert sending.send_invitation_batch().get("claimed", 0) == 0  # still leased to the dead worker
    with after_the_lease():
        assert sending.send_invitation_batch()["sent"] == 1
    invitation.refresh_from_db()
    print(f"JOB-02 (a): deliveries={len(crashing.delivered)}, status={invitation.status}")
    assert crashing.delivered == [invitation.message_id]
    assert (invitation.status, invitation.attempts, invitation.possible_duplicates) == ("sent", 2, 1)


def test_a_worker_killed_after_smtp_accepted_resends_at_most_once_with_the_same_message_id(crashing):
    """JOB-02 (b): plain SMTP cannot tell whether the message went, so it is re-sent with the same
    Message-ID (receivers and ESPs de-duplicate on it) and counted as a possible duplicate."""
    [invitation] = pending(1)
    crashing.crash_at, crashing.mode = 1, "after"

    with pytest.raises(SystemExit):
        sending.send_invitation_batch()
    with after_the_lease():
        sending.send_invitation_batch()
    with time_machine.travel(timezone.now() + dt.timedelta(days=1)):
        assert sending.send_invitation_batch().get("claimed", 0) == 0

    invitation.refresh_from_db()
    duplicates = len(crashing.delivered) - len(set(crashing.delivered))
    print(f"JOB-02 (b): deliveries={len(crashing.delivered)}, documented duplicates={invitation.possible_duplicates}")
    assert crashing.delivered == [invitation.message_id, invitation.message_id]
    assert duplicates == invitation.possible_duplicates == 1
    assert invitation.status == InvitationStatus.SENT


def test_a_worker_killed_after_marking_sent_before_the_ack_sends_nothing_again(crashing):
    """JOB-02 (c): the first row is marked sent, then the worker dies on the second; the message
    is redelivered (the batch runs again) and later the lease ends."""
    first, second = pending(2)
    crashing.crash_at, crashing.mode = 2, "before"

    with pytest.raises(SystemExit):
        sending.send_invitation_batch()
    first.refresh_from_db()
    assert first.status == InvitationStatus.SENT
    redelivered = sending.send_invitation_batch()
    with after_the_lease():
        sending.send_invitation_batch()

    print(f"JOB-02 (c): deliveries of the row marked sent={crashing.delivered.count(first.message_id)}")
    assert redelivered.get("claimed", 0) == 0
    assert crashing.delivered == [first.message_id, second.message_id]
    first.refresh_from_db()
    assert (first.attempts, first.possible_duplicates) == (1, 0)


def test_a_claim_left_by_dead_workers_five_times_is_parked_as_failed(crashing):
    [invitation] = pending(1)
    Invitation.objects.filter(pk=invitation.pk).update(
        status=InvitationStatus.SENDING, attempts=sending.MAX_ATTEMPTS, next_attempt_at=timezone.now()
    )

    counts = sending.send_invitation_batch()

    invitation.refresh_from_db()
    assert counts["failed"] == 1
    assert invitation.status == InvitationStatus.FAILED
    assert "Gave up after 5 attempts" in invitation.last_error
    assert crashing.delivered == []


def test_temporary_refusals_are_retried_permanent_ones_fail_at_once_and_a_poison_row_is_parked(settings):
    """JOB-05: 451 to a random 30 % of first attempts, dropped connections to 2 %, 550 to 1 %, and
    one invitation whose template always raises."""
    settings.EMAIL_BACKEND = f"{HERE}.FlakySMTPBackend"
    rows = pending(300)
    poison = pending(1, language="pl")[0]
    Invitation.objects.filter(pk=poison.pk).update(language="pl")
    EmailTemplate.objects.filter(kind="invitation", language="pl").update(body="{% if %}broken")
    rng = random.Random(5)
    ids = [row.message_id for row in rows]
    FlakySMTPBackend.permanent = set(ids[:3])
    FlakySMTPBackend.temporary = set(rng.sample(ids[3:], 90))
    FlakySMTPBackend.disconnect = set(rng.sample(sorted(set(ids[3:]) - FlakySMTPBackend.temporary), 6))
    FlakySMTPBackend.attempts, FlakySMTPBackend.delivered = Counter(), []

    max_delay = dt.timedelta(0)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _round in range(8):
            send_all()
            now = timezone.now()
            waits = [row.next_attempt_at - row.claimed_at for row in Invitation.objects.filter(status="pending")]
            max_delay = max([max_delay, *waits])
            clock.shift(dt.timedelta(hours=1, seconds=1))

    by_status = Counter(Invitation.objects.values_list("status", flat=True))
    poison.refresh_from_db()
    retried = FlakySMTPBackend.temporary | FlakySMTPBackend.disconnect
    attempts = {row.message_id: row.attempts for row in Invitation.objects.filter(message_id__in=ids)}
    duplicates = len(FlakySMTPBackend.delivered) - len(set(FlakySMTPBackend.delivered))
    print(
        f"JOB-05: sent={by_status['sent']}, permanent failures={by_status['failed'] - 1}, "
        f"attempts={sum(FlakySMTPBackend.attempts.values())}, max delay={max_delay.total_seconds():.0f} s, "
        f"attempts on poison row={poison.attempts}, duplicates={duplicates}"
    )
    assert by_status["sent"] == 297
    assert all(attempts[message_id] == 2 for message_id in retried)
    assert all(FlakySMTPBackend.attempts[message_id] == 1 for message_id in FlakySMTPBackend.permanent)
    failed = Invitation.objects.filter(message_id__in=FlakySMTPBackend.permanent)
    assert all(row.status == "failed" and "550" in row.last_error for row in failed)
    assert (poison.status, poison.attempts) == (InvitationStatus.FAILED, sending.MAX_ATTEMPTS)
    assert "TemplateSyntaxError" in poison.last_error
    assert duplicates == 0
    assert dt.timedelta(seconds=30) <= max_delay <= dt.timedelta(hours=1)
    assert now  # the loop ran


def test_backoff_doubles_from_a_minute_with_jitter_and_stops_at_an_hour():
    rng = random.Random(1)
    for attempts, full in [(1, 60), (2, 120), (3, 240), (4, 480), (7, 3600), (30, 3600)]:
        waits = [sending.backoff(attempts, rng=rng).total_seconds() for _ in range(50)]
        assert full / 2 <= min(waits)
        assert max(waits) <= full
        assert len(set(waits)) > 1


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        (smtplib.SMTPRecipientsRefused({"a@example.org": (550, b"no such user")}), True),
        (smtplib.SMTPRecipientsRefused({"a@example.org": (451, b"later")}), False),
        (smtplib.SMTPDataError(554, b"rejected as spam"), True),
        (smtplib.SMTPDataError(421, b"busy"), False),
        (smtplib.SMTPSenderRefused(550, b"sender not allowed", "surveys@example.com"), False),
        (smtplib.SMTPAuthenticationError(535, b"bad credentials"), False),
        (smtplib.SMTPServerDisconnected("gone"), False),
        (ConnectionRefusedError(111, "Connection refused"), False),
        (TimeoutError("timed out"), False),
    ],
)
def test_only_recipient_and_message_refusals_with_5xx_are_permanent(error, permanent):
    assert sending.is_permanent(error) is permanent


def test_no_more_than_the_per_minute_limit_is_claimed_in_any_minute(mailoutbox):
    pending(25)
    SurveySettings.objects.filter(pk=1).update(send_per_minute=10)

    with time_machine.travel(timezone.now(), tick=False) as clock:
        first = sending.send_invitation_batch()
        clock.shift(dt.timedelta(seconds=30))
        second = sending.send_invitation_batch()
        clock.shift(dt.timedelta(seconds=31))
        third = sending.send_invitation_batch()

    assert (first["sent"], second.get("sent", 0), third["sent"]) == (10, 0, 10)
    assert second["rate_limited"] == 1
    assert len(mailoutbox) == 20


def test_a_tick_spreads_its_batches_over_the_period_when_the_limit_binds():
    pending(30)
    SurveySettings.objects.filter(pk=1).update(send_per_minute=10)

    plan = sending.plan_batches(now=timezone.now(), period_seconds=120, batch_size=5)

    assert [kind for kind, _ in plan] == ["invitation"] * 4  # 20 allowed in two minutes
    assert [countdown for _, countdown in plan] == [0, 30, 60, 90]
    SurveySettings.objects.filter(pk=1).update(send_per_minute=100_000)
    assert sending.plan_batches(now=timezone.now(), period_seconds=120, batch_size=5) == [("invitation", 0)] * 6


class RefusingBackend(BaseEmailBackend):
    """Refuses every recipient with `code`."""

    code = 451

    def send_messages(self, messages):
        raise smtplib.SMTPRecipientsRefused({messages[0].to[0]: (self.code, b"refused")})


def test_a_refused_reminder_is_retried_after_a_backoff_and_a_permanently_refused_one_never(settings, mailoutbox):
    first, second = pending(2)
    sending.send_invitation_batch()
    settings.EMAIL_BACKEND = f"{HERE}.RefusingBackend"
    start = timezone.now() + dt.timedelta(days=8)

    with time_machine.travel(start, tick=False) as clock:
        RefusingBackend.code = 451
        assert sending.send_reminder_batch(limit=1)["retry"] == 1
        RefusingBackend.code = 550
        assert sending.send_reminder_batch(limit=1)["failed"] == 1
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        assert sending.send_reminder_batch().get("claimed", 0) == 0  # the first waits for its backoff
        clock.shift(dt.timedelta(hours=1))
        assert sending.send_reminder_batch()["sent"] == 1
        clock.shift(dt.timedelta(days=30))
        assert sending.send_reminder_batch().get("claimed", 0) == 0

    retried, refused = Invitation.objects.get(pk=first.pk), Invitation.objects.get(pk=second.pk)
    assert (retried.reminder_attempts, retried.possible_duplicates) == (2, 0)
    assert retried.reminder_sent_at is not None
    assert refused.reminder_sent_at is None
    assert refused.reminder_skipped_at is not None
    assert "550" in refused.last_error
    assert [m.extra_headers["Message-ID"] for m in mailoutbox[2:]] == [retried.reminder_message_id]
