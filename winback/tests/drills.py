"""Failure drills (RELIABILITY.md JOB-07, JOB-08, JOB-11): private servers, a loopback SMTP sink,
real workers and a real beat, and the lost/duplicate count at the sink.

Every drill starts its own `redis-server` (and, for JOB-08, its own PostgreSQL cluster) on a free
port of 127.0.0.1 and stops it afterwards, so the shared services are never disturbed. The workers
run the deployment's way (prefork, `REMAP_SIGTERM=SIGQUIT`, docs/deploy.md) with the local settings
and `EMAIL_URL` pointing at the sink, which records every message's Message-ID as it is accepted.
`WINBACK_DRILL_SIZE` sets the number of invitations (`make chaos`: 10,000; default 400).
"""

import os
import shutil
import signal
import socket
import socketserver
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import psycopg
import redis

from winback.tests.processes import ROOT, Beat, Worker, clean_env, send_from_another_process, wait_for

DRILL_SIZE = int(os.environ.get("WINBACK_DRILL_SIZE", "400"))
WORKER = ("--pool=prefork", "--concurrency=2")
PG_BIN = Path("/usr/lib/postgresql/15/bin")
SWEEP_SECONDS = 60  # the send job claims one slot per minute (surveys.tasks.send_survey_invitations)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- the loopback SMTP sink ------------------------------------------------------------------


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for Django's backend: EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT."""

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 drill-sink ESMTP")
        recipients: list[str] = []
        while line := self.rfile.readline():
            verb = line[:4].decode("ascii", "replace").upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250-drill-sink\r\n250 8BITMIME")
            elif verb == "RCPT":
                recipients.append(line.decode().split(":", 1)[1].strip().strip("<>").split(">")[0])
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 go ahead")
                message_id = ""
                while (data := self.rfile.readline()) not in (b".\r\n", b""):
                    if not message_id and data.lower().startswith(b"message-id:"):
                        message_id = data.split(b":", 1)[1].strip().decode()
                time.sleep(self.server.delay)  # a real server's time to accept, so batches overlap
                with self.server.lock:
                    self.server.messages.extend((message_id, address) for address in recipients)
                recipients = []
                self.reply("250 accepted")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:  # MAIL, RSET, NOOP
                recipients = [] if verb == "RSET" else recipients
                self.reply("250 OK")


class SmtpSink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, delay: float = 0.003):
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.delay, self.lock, self.messages = delay, threading.Lock(), []
        self.port = self.server_address[1]

    def __enter__(self):
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()

    def per_message_id(self) -> Counter:
        with self.lock:
            return Counter(message_id for message_id, _ in self.messages)


# --- private servers ----------------------------------------------------------------------------


class RedisServer:
    """A private `redis-server` on a free port; persistence off unless `appendonly`."""

    def __init__(self, directory: Path, *, appendonly: bool = False):
        self.directory, self.appendonly, self.port = directory, appendonly, free_port()
        self.process: subprocess.Popen | None = None
        directory.mkdir(parents=True, exist_ok=True)

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=5)

    def start(self) -> "RedisServer":
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory), "--save", ""]
        args += ["--appendonly", "yes" if self.appendonly else "no", "--appendfsync", "everysec"]
        args += ["--maxmemory-policy", "noeviction", "--logfile", str(self.directory / "redis.log")]
        self.process = subprocess.Popen([shutil.which("redis-server"), *args], start_new_session=True)
        assert wait_for(self._answers, timeout=10, interval=0.05), (self.directory / "redis.log").read_text()
        return self

    def _answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: Redis fsyncs the AOF (when on) and exits
            self.process.wait(timeout=20)

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


class PostgresServer:
    """A private PostgreSQL 15 cluster in a temporary directory owned by `postgres` (initdb refuses
    to run as root), trust authentication on 127.0.0.1 only, role `winback` as superuser."""

    def __init__(self):
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="winback-drill-pg-"))
        shutil.chown(self.directory, "postgres", "postgres")
        self.data = self.directory / "data"

    def url(self, name: str = "winback") -> str:
        return f"postgres://winback:winback@127.0.0.1:{self.port}/{name}"

    def _as_postgres(self, *args: str, timeout: int = 120) -> None:
        result = subprocess.run(
            ["runuser", "-u", "postgres", "--", *args], capture_output=True, text=True, timeout=timeout
        )
        assert result.returncode == 0, f"{args[0]} failed:\n{result.stdout}\n{result.stderr}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.directory / "server.log")
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def __enter__(self):
        self._as_postgres(str(PG_BIN / "initdb"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "-D", str(self.data))
        self.start()
        admin = f"postgres://postgres@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute("CREATE ROLE winback LOGIN SUPERUSER PASSWORD 'winback'")
            connection.execute("CREATE DATABASE winback OWNER winback")
        return self

    def __exit__(self, *exc) -> None:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.directory, ignore_errors=True)


# --- the drill's workers, beat and outbox ------------------------------------------------------------


def pytest_database_url() -> str:
    """The pytest test database (its name, not the configured one), for processes of their own."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    return (
        f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}"
    )


def drill_env(tmp_path: Path, *, database_url: str, broker_url: str, smtp_port: int) -> dict[str, str]:
    """Worker, beat and seeding processes: the local settings on the drill's services, run as the
    documented systemd unit runs workers (REMAP_SIGTERM=SIGQUIT)."""
    return clean_env(
        DJANGO_SETTINGS_MODULE="winback.settings.local",
        DJANGO_SECRET_KEY="drill-only-insecure-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        WINBACK_EMAIL_HASH_KEY="drill-only-hash-key",
        DJANGO_DEBUG="false",
        DJANGO_SITE_URL="https://winback.example.com",
        CELERY_BROKER_URL=broker_url,
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
        WINBACK_CELERY_DATA_DIR=str(tmp_path / "celery"),
        DATABASE_URL=database_url,
        REMAP_SIGTERM="SIGQUIT",
    )


SEED = """
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from customers.models import Customer, DefectionEvent
from surveys.models import SurveySettings
from surveys.services.invitations import create_invitations
from surveys.tests.test_invitations_create import active_survey, ensure_templates

active_survey("en")
ensure_templates()
SurveySettings.objects.update_or_create(pk=1, defaults={{"send_per_minute": 1_000_000}})
now = timezone.now()
customers = Customer.objects.bulk_create(
    Customer(external_id=f"D{{i:06d}}", name=f"Drill {{i}}", email=f"d{{i:06d}}@example.org", status="defected")
    for i in range({count})
)
DefectionEvent.objects.bulk_create(
    DefectionEvent(customer=c, kind="passive", detected_at=now, as_of=timezone.localdate(now),
                   status_changed_at=now, lost_revenue=100)
    for c in customers
)
# The sweeper: the send job's beat entry ticks every 5 s; its one-a-minute slot lets one run through.
every, _ = IntervalSchedule.objects.get_or_create(every=5, period=IntervalSchedule.SECONDS)
PeriodicTask.objects.update_or_create(
    name="drill sweeper", defaults={{"task": "surveys.tasks.send_survey_invitations", "interval": every,
                                     "kwargs": "{{}}", "enabled": True}})
PeriodicTask.objects.exclude(name="drill sweeper").update(enabled=False)
print(create_invitations()["pending"])
"""


def seed(env: dict[str, str], count: int = DRILL_SIZE) -> None:
    assert send_from_another_process(env, SEED.format(count=count)) == str(count)


def dispatch(env: dict[str, str], slot: str) -> None:
    """What the beat's next tick does, at once: the send job for a slot of the drill's own."""
    send_from_another_process(
        env, f"from surveys.tasks import send_survey_invitations\nsend_survey_invitations.delay(slot={slot!r})"
    )


def query(database_url: str, sql: str) -> list[tuple] | None:
    """The rows of `sql` on a fresh connection; None while the database is unreachable."""
    try:
        with psycopg.connect(database_url, connect_timeout=2) as connection:
            return connection.execute(sql).fetchall()
    except psycopg.OperationalError:
        return None


def statuses(database_url: str) -> Counter:
    rows = query(database_url, "SELECT status, count(*) FROM surveys_invitation GROUP BY status")
    return Counter(dict(rows or []))


def sent(database_url: str) -> int:
    return statuses(database_url)["sent"]


def database_now(database_url: str):
    return query(database_url, "SELECT now()")[0][0]


def first_sweep_after(database_url: str, moment) -> tuple[float, str] | None:
    """Seconds from `moment` (a database time) to the end of the first send-job run that started
    after it, and what that run did; None before there is one."""
    rows = query(
        database_url,
        "SELECT extract(epoch FROM finished_at - %s::timestamptz), outcome FROM winback_jobrun "
        "WHERE job = 'send_survey_invitations' AND started_at > %s::timestamptz AND finished_at IS NOT NULL "
        "ORDER BY started_at LIMIT 1" % ((f"'{moment.isoformat()}'",) * 2),
    )
    return (float(rows[0][0]), rows[0][1]) if rows else None


def outcome(database_url: str, sink: SmtpSink) -> dict[str, int]:
    """Rows, sent rows, lost (a row whose Message-ID never reached the sink) and duplicates (a
    Message-ID accepted more than once), and the rows the workers counted as possible duplicates."""
    rows = query(database_url, "SELECT message_id, status, possible_duplicates FROM surveys_invitation")
    per_message_id = sink.per_message_id()
    return {
        "rows": len(rows),
        "sent": sum(status == "sent" for _, status, _ in rows),
        "lost": sum(message_id not in per_message_id for message_id, _, _ in rows),
        "duplicates": sum(count - 1 for count in per_message_id.values()),
        "foreign": len(set(per_message_id) - {message_id for message_id, _, _ in rows}),
        "possible_duplicates": sum(count for _, _, count in rows),
    }


def figure(check: str, seconds: float, result: dict[str, int], **extra) -> str:
    line = f"{check}: recovery {seconds:.1f} s, sent {result['sent']}, lost {result['lost']}, "
    line += f"duplicates {result['duplicates']}"
    line += "".join(f", {key.replace('_', ' ')} {value}" for key, value in extra.items())
    print(line)
    return line


def stop_gracefully(process: subprocess.Popen, timeout: float = 40) -> float:
    """SIGTERM to the worker's main process (as `docker stop`, Kubernetes and systemd's
    KillMode=mixed send it); seconds until it exited."""
    started = time.monotonic()
    os.kill(process.pid, signal.SIGTERM)
    process.wait(timeout=timeout)
    return time.monotonic() - started


__all__ = ["ROOT", "Beat", "Worker", "wait_for"]
