"""The kill test (RELIABILITY.md JOB-01, the issue's Done-when): a real Celery worker on Redis
(prefork, two processes) sends 2,000 invitations, is killed with SIGKILL (its whole process group)
in the middle, and a new worker finishes the job. Every row ends `sent`, every customer has their
message, and a message is delivered twice only if it was in flight at the kill — then with the
same Message-ID.

The worker writes mail with Django's file backend (winback.settings.local with the test
database), so this process can read every message and its Message-ID. A claim left by the killed
worker is due again when its 10-minute lease ends; instead of waiting, the test moves those rows'
lease end to now, as the clock would. Marked integration; needs Redis on 127.0.0.1:6379.
"""

import email
import os
import signal
import time
from collections import Counter
from email import policy
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from customers.models import Customer, DefectionEvent
from surveys.models import Invitation, InvitationStatus, SurveySettings
from surveys.services.invitations import create_invitations
from surveys.tests.test_invitations_create import active_survey, ensure_templates
from winback.tests.processes import Worker, clean_env, send_from_another_process, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

REDIS_URL = "redis://127.0.0.1:6379/12"  # this test's own database on the Redis server
TOTAL = 2000
KILL_AFTER = 1037  # sent rows; not a multiple of the batch size, so a batch is mid-way
WORKER = ("--pool=prefork", "--concurrency=2")
SEPARATOR = "-" * 79


@pytest.fixture(autouse=True)
def _empty_broker():
    redis.Redis.from_url(REDIS_URL).flushdb()


def worker_env(tmp_path: Path) -> dict[str, str]:
    database = settings.DATABASES["default"]
    return clean_env(
        DJANGO_SETTINGS_MODULE="winback.settings.local",  # its file email backend
        DJANGO_SECRET_KEY=settings.SECRET_KEY,
        WINBACK_EMAIL_HASH_KEY=settings.WINBACK_EMAIL_HASH_KEY,
        DJANGO_DEBUG="false",
        DJANGO_SITE_URL="https://winback.example.com",
        CELERY_BROKER_URL=REDIS_URL,
        WINBACK_EMAIL_DIR=str(tmp_path / "mail"),
        WINBACK_CELERY_DATA_DIR=str(tmp_path / "celery"),
        DATABASE_URL=(
            f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
    )


def pending_invitations() -> None:
    active_survey("en")
    ensure_templates()
    SurveySettings.objects.update_or_create(pk=1, defaults={"send_per_minute": 1_000_000})
    now = timezone.now()
    customers = Customer.objects.bulk_create(
        Customer(
            external_id=f"K{index:05d}", name=f"Customer {index}", email=f"k{index:05d}@example.org", status="defected"
        )
        for index in range(TOTAL)
    )
    DefectionEvent.objects.bulk_create(
        DefectionEvent(
            customer=customer,
            kind=DefectionEvent.Kind.PASSIVE,
            detected_at=now,
            as_of=timezone.localdate(now),
            status_changed_at=now,
            lost_revenue=100,
        )
        for customer in customers
    )
    assert create_invitations()["pending"] == TOTAL


def delivered_messages(mail_dir: Path) -> list[tuple[str, str]]:
    """(Message-ID, recipient address) of every message the workers wrote."""
    found = []
    for path in sorted(mail_dir.glob("*.log")):
        for chunk in path.read_text(encoding="utf-8", errors="replace").split(SEPARATOR):
            if "Message-ID:" not in chunk:
                continue
            message = email.message_from_string(chunk.lstrip("\n"), policy=policy.default)
            found.append((message["Message-ID"], message["To"].addresses[0].addr_spec))
    return found


def sent_rows() -> int:
    return Invitation.objects.filter(status=InvitationStatus.SENT).count()


def dispatch(env, slot: str) -> None:
    send_from_another_process(
        env,
        f"from surveys.tasks import send_survey_invitations\nprint(send_survey_invitations.delay(slot={slot!r}).id)",
    )


def test_killing_the_worker_mid_batch_loses_nothing_and_duplicates_only_what_was_in_flight(tmp_path):
    pending_invitations()
    env = worker_env(tmp_path)

    with Worker(env, tmp_path / "worker-1.log", *WORKER) as first:
        dispatch(env, "kill-test-1")
        assert wait_for(lambda: sent_rows() >= KILL_AFTER, timeout=60, interval=0.02), first.output()
        os.killpg(first.process.pid, signal.SIGKILL)
        first.process.wait(timeout=10)
    killed_at = sent_rows()
    in_flight = Invitation.objects.filter(status=InvitationStatus.SENDING).count()
    # The killed worker's claims: due again once their lease ends (moved to now instead of waiting).
    Invitation.objects.filter(status=InvitationStatus.SENDING).update(next_attempt_at=timezone.now())

    restarted = time.monotonic()
    with Worker(env, tmp_path / "worker-2.log", *WORKER) as second:
        dispatch(env, "kill-test-2")  # the next beat tick
        finished = wait_for(lambda: sent_rows() == TOTAL, timeout=60, interval=0.1)
        assert finished, second.output()
    seconds = time.monotonic() - restarted

    messages = delivered_messages(tmp_path / "mail")
    per_message_id = Counter(message_id for message_id, _ in messages)
    rows = dict(Invitation.objects.values_list("message_id", "customer__email"))
    lost = len(set(rows) - set(per_message_id))
    duplicates = sum(count - 1 for count in per_message_id.values())
    print(
        f"JOB-01: delivered={len(per_message_id)}, lost={lost}, duplicates={duplicates}, "
        f"in flight at the kill={in_flight}, sent before the kill={killed_at}, "
        f"time to finish after restart={seconds:.1f} s"
    )
    assert Invitation.objects.count() == sent_rows() == TOTAL
    assert lost == 0
    assert set(per_message_id) == set(rows)  # a re-send carries the row's Message-ID, nothing else
    assert {address for _, address in messages} == set(rows.values())
    assert all(rows[message_id] == address for message_id, address in messages)
    assert duplicates <= in_flight
    reclaimed = Invitation.objects.aggregate(total=Sum("possible_duplicates"))["total"]
    assert duplicates <= reclaimed <= in_flight
    assert killed_at < TOTAL
