"""Invitation benchmark: creating and sending exit-survey invitations, in invitations per second.

    python bench/invite_bench.py --customers 100000 [--backend locmem|file] [--keep]

Drops and recreates a dedicated database (default winback_invite_bench), migrates it (the shipped
surveys and email templates come with the migrations), and inserts N customers, each with an open
defection event of today (plain SQL, not timed; a tenth have an account manager). Then, in this
one process — the worker's work without the broker — it times:
- create: `create_invitations()`, the beat job's first step (N pending invitations);
- send: the send-batch task function (`surveys.tasks.send_invitation_batch_task`, batches of 100)
  until nothing is due: claim with SKIP LOCKED, mint a link, render, hand to the mail backend,
  mark sent — each message in its own short transaction, as in production.
Mail goes to Django's in-memory backend (the outbox is counted and emptied after each batch) or,
with `--backend file`, to files in a temporary folder. The rate limit is set out of the way.
Exit code 0 (a report) unless a count is wrong.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (  # noqa: E402
    code_version,
    dedicated_database,
    pg_settings,
    print_settings,
    recreate_database,
    release_database,
    setup_django,
)

DEFAULT_DATABASE_URL = "postgres://winback:winback@127.0.0.1:5432/winback_invite_bench"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--backend", choices=["locmem", "file"], default="locmem")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_INVITE_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    return parser.parse_args(argv)


def load_defections(customers: int) -> None:
    """N defected customers with an open defection event of today, in three statements."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection, transaction
    from django.utils import timezone

    from surveys.models import SurveySettings

    group = Group.objects.get(name="Account managers")
    managers = []
    for index in range(10):
        user = get_user_model().objects.create(
            username=f"bench-manager-{index}", first_name="Manager", last_name=str(index), email=f"m{index}@example.com"
        )
        user.groups.add(group)
        managers.append(user.pk)
    SurveySettings.objects.update_or_create(pk=1, defaults={"send_per_minute": 1_000_000_000})
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO customers_customer (
                external_id, name, email, phone, company, language, status, status_changed_at, do_not_contact,
                preferred_channel, contact_notes, order_count, lifetime_revenue, created_at, updated_at,
                account_manager_id
            )
            SELECT 'B' || lpad(n::text, 8, '0'), 'Bench Customer ' || n, 'b' || n || '@example.org', '', '',
                   (ARRAY['en', 'ru', 'bg', 'pl'])[1 + n %% 4], 'defected', %s, false, '', '', 0, 0, %s, %s,
                   CASE WHEN n %% 10 = 0 THEN (%s::bigint[])[1 + n / 10 %% 10] END
            FROM generate_series(1, %s) AS n
            """,
            [now, now, now, managers, customers],
        )
        cursor.execute(
            """
            INSERT INTO customers_defectionevent (
                customer_id, kind, relapse, detected_at, as_of, lost_revenue, primary_reason, fault, status,
                status_changed_at, closed_reason
            )
            SELECT id, CASE WHEN id %% 5 = 0 THEN 'active' ELSE 'passive' END, false, %s, %s, 1200, '', 'unknown',
                   'open', %s, ''
            FROM customers_customer
            """,
            [now, timezone.localdate(now), now],
        )
        cursor.execute("ANALYZE customers_customer; ANALYZE customers_defectionevent")


def timed(label: str, count: int, started: float, rows: list) -> None:
    seconds = time.perf_counter() - started
    rows.append((label, count, seconds, count / seconds if seconds else 0.0))


def send_everything(outbox_dir: Path | None) -> tuple[int, int]:
    """Runs the send-batch task function until nothing is due; (batches, messages handed over)."""
    from django.core import mail

    from surveys.tasks import send_invitation_batch_task

    batches = messages = 0
    while True:
        counts = send_invitation_batch_task.run()
        batches += 1
        if outbox_dir is None:
            messages += len(mail.outbox)
            mail.outbox.clear()
        if not counts.get("due"):
            break
    if outbox_dir is not None:
        messages = sum(path.read_text(encoding="utf-8").count("\nMessage-ID: ") for path in outbox_dir.glob("*.log"))
    return batches, messages


def main(argv=None) -> int:
    args = parse_args(argv)
    database = dedicated_database(args.database_url)
    started_at = time.strftime("%Y-%m-%d %H:%M:%S")
    print(f"invite bench: {args.customers:,} customers, {args.backend} mail backend, started {started_at}")
    print(f"code: {code_version()}")
    recreate_database(args.database_url, database)
    outbox = tempfile.TemporaryDirectory(prefix="invite-bench-mail-") if args.backend == "file" else None
    try:
        setup_django(args.database_url)
        from django.conf import settings
        from django.core import mail

        from surveys.models import Invitation, InvitationStatus
        from surveys.services.invitations import create_invitations

        if outbox is None:
            settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
            mail.outbox = []
        else:
            settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
            settings.EMAIL_FILE_PATH = outbox.name
        settings.SITE_URL = "https://winback.example.com"

        load_started = time.perf_counter()
        load_defections(args.customers)
        print(
            f"data: {args.customers:,} customers with an open defection in {time.perf_counter() - load_started:.1f} s"
        )

        rows: list[tuple[str, int, float, float]] = []
        started = time.perf_counter()
        created = create_invitations()
        timed("create invitations", created["created"], started, rows)

        started = time.perf_counter()
        batches, messages = send_everything(Path(outbox.name) if outbox else None)
        timed(f"send invitations ({batches} batches)", messages, started, rows)

        print("\n| step | invitations | seconds | invitations/s |\n| --- | --- | --- | --- |")
        for label, count, seconds, rate in rows:
            print(f"| {label} | {count:,} | {seconds:.1f} | {rate:,.0f} |")
        print_settings(pg_settings(args.database_url))

        sent = Invitation.objects.filter(status=InvitationStatus.SENT).count()
        problems = []
        if created["pending"] != args.customers:
            problems.append(f"created {created}, expected {args.customers:,} pending")
        if sent != args.customers or messages != args.customers:
            problems.append(f"{sent:,} rows sent and {messages:,} messages, expected {args.customers:,}")
        for problem in problems:
            print(f"FAILED: {problem}")
        return 1 if problems else 0
    finally:
        if outbox is not None:
            outbox.cleanup()
        release_database(args.database_url, database, keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
