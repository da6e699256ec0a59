"""IMP-04 (RELIABILITY.md): size and memory of imports.

(1) An upload over the cap (`WINBACK_IMPORT_MAX_BYTES`, 100 MB) is refused with 413 before it is
parsed: a declared length over the cap is refused unread, and the upload handler stops a body that
gets past that check at the cap, holding nothing in memory. The bodies here are generated as they
are read, so 300 MB never exist anywhere.
(2) A big customers file (`WINBACK_IMPORT_BIG_ROWS` rows, 50,000 by default, about 5 MB; 500,000
and 50 MB for the full run) uploaded through the real view is checked and imported by a real Celery
worker (the path the view schedules for files over 2 MB), while the request returns in under 2 s;
the worker's peak RSS stays under 300 MB.
"""

import os
import time
import tracemalloc
from pathlib import Path

import kombu.pools
import pytest
import redis
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT
from django.urls import reverse

from customers.models import Customer, ImportRun
from winback.celery import app as celery_app
from winback.tests.processes import Worker, clean_env, wait_for

MB = 1024 * 1024
URL = "customers:import_new"
REDIS_URL = "redis://127.0.0.1:6379/11"  # a database of its own: no other suite's worker takes our tasks
HEADER = "customer_id,name,email,phone,company,segment,language,do_not_contact\n"


class GeneratedUpload:
    """A multipart body (the kind field, then a CSV file of `size` bytes) made up as it is read:
    the request stream of a client sending a file that big. Counts the bytes read."""

    def __init__(self, size: int):
        self.head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="kind"\r\n\r\ncustomers\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
            f"Content-Type: text/csv\r\n\r\n{HEADER}"
        ).encode()
        self.tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        self.row = b"C0000001,Generated Person,person@example.org,+49 30 1234567,Company,Retail,en,no\n"
        self.length = len(self.head) + size + len(self.tail)
        self.position = 0

    def read(self, size: int = -1) -> bytes:
        remaining = self.length - self.position
        size = remaining if size is None or size < 0 else min(size, remaining)
        out = bytearray()
        while len(out) < size:
            offset = self.position + len(out)
            if offset < len(self.head):
                out += self.head[offset : offset + size - len(out)]
            elif offset >= self.length - len(self.tail):
                start = offset - (self.length - len(self.tail))
                out += self.tail[start : start + size - len(out)]
            else:
                body_left = self.length - len(self.tail) - offset
                take = min(size - len(out), body_left)
                repeats = self.row * (take // len(self.row) + 2)
                skip = (offset - len(self.head)) % len(self.row)
                out += repeats[skip : skip + take]
        self.position += len(out)
        return bytes(out)

    def readline(self, size: int = -1) -> bytes:  # Django's LimitedStream reads by read() only
        return self.read(size)


def post_stream(client: Client, body: GeneratedUpload, declared: int | None = None):
    length = body.length if declared is None else declared
    environ = {"wsgi.input": body, "CONTENT_LENGTH": str(length), "CONTENT_TYPE": MULTIPART_CONTENT}
    return client.generic("POST", reverse(URL), b"", **environ)


@pytest.fixture
def upload_temp_dir(settings, tmp_path) -> Path:
    folder = tmp_path / "upload-tmp"
    folder.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(folder)
    return folder


@pytest.mark.django_db
def test_imp04_a_300_mb_upload_is_refused_with_413_before_any_of_it_is_read(admin_client, upload_temp_dir):
    assert admin_client.get(reverse(URL)).status_code == 200  # the first request loads the code
    body = GeneratedUpload(300 * MB)
    started = time.monotonic()

    response = post_stream(admin_client, body)

    seconds = time.monotonic() - started
    assert response.status_code == 413
    assert "larger than 100.0\xa0MB, the largest accepted" in response.content.decode()
    assert body.position == 0  # not a byte of the body was read
    assert not ImportRun.objects.exists()
    assert list(upload_temp_dir.iterdir()) == []
    print(f"IMP-04: 300 MB upload refused with 413 in {seconds:.3f} s, body bytes read {body.position}")


@pytest.mark.django_db
def test_imp04_a_body_past_the_cap_is_stopped_by_the_upload_handler_at_the_cap(admin_client, upload_temp_dir):
    """The declared length is within the view's allowance (cap + 64 KB): the upload handler stops
    the file as soon as it passes the cap; nothing of it is kept in memory or on disk."""
    body = GeneratedUpload(settings.WINBACK_IMPORT_MAX_BYTES + 32 * 1024)  # the real 100 MB cap
    tracemalloc.start()

    response = post_stream(admin_client, body)

    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert response.status_code == 413
    assert "larger than 100.0\xa0MB, the largest accepted" in response.content.decode()
    assert peak < 20 * MB, f"{peak / MB:.1f} MB allocated while streaming"
    assert not ImportRun.objects.exists()
    assert list(upload_temp_dir.iterdir()) == []  # the partial temporary file is gone
    media = Path(settings.MEDIA_ROOT) / "imports"
    assert not media.exists() or list(media.iterdir()) == []
    print(f"IMP-04: {body.length / MB:.1f} MB body stopped at the cap, Python peak {peak / MB:.1f} MB")


@pytest.mark.django_db
def test_a_file_one_byte_over_a_small_cap_is_refused_and_one_at_the_cap_is_accepted(admin_client, settings):
    settings.WINBACK_IMPORT_MAX_BYTES = 1000
    at_cap = (HEADER + "C1,Anna,a@example.org,,,,,\n").encode().ljust(1000, b"\n")

    over = admin_client.post(reverse(URL), {"kind": "customers", "file": SimpleUploadedFile("a.csv", at_cap + b"\n")})
    accepted = admin_client.post(reverse(URL), {"kind": "customers", "file": SimpleUploadedFile("a.csv", at_cap)})

    assert over.status_code == 413
    assert accepted.status_code == 302
    assert ImportRun.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["manager", "executive"])
def test_managers_and_executives_get_403_for_an_oversized_upload_too(client, request, role):
    client.force_login(request.getfixturevalue(role))

    response = post_stream(client, GeneratedUpload(300 * MB))

    assert response.status_code == 403


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in_without_the_body_being_read(client):
    body = GeneratedUpload(300 * MB)

    response = post_stream(client, body)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    assert body.position == 0


# The big file on a real worker ------------------------------------------------------------------


def big_customers_file(path: Path, rows: int) -> Path:
    with open(path, "w", encoding="utf-8") as out:
        out.write(HEADER)
        for start in range(0, rows, 10_000):
            out.write(
                "".join(
                    f"B{i:07d},Customer Number {i},customer{i}@example.org,+49 30 {i:07d},"
                    f"Company {i % 5000} GmbH,Segment {i % 7},en,no\n"
                    for i in range(start, min(start + 10_000, rows))
                )
            )
    return path


def peak_rss_mb(pid: int) -> float:
    """The process's high-water mark of resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.fixture
def tasks_go_to_redis():
    """The test process sends Celery tasks to Redis (as the web process does) instead of running
    them eagerly."""
    saved = celery_app.conf.task_always_eager, celery_app.conf.broker_url
    redis.Redis.from_url(REDIS_URL).flushdb()

    def reset_pools():
        # kombu keeps one connection (and producer) pool per broker URL, process-wide: close and
        # forget them all, or the app would get the closed pool back for its default broker.
        kombu.pools.reset()
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    reset_pools()
    celery_app.conf.task_always_eager, celery_app.conf.broker_url = False, REDIS_URL
    yield
    reset_pools()
    celery_app.conf.task_always_eager, celery_app.conf.broker_url = saved


@pytest.mark.integration
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_imp04_a_big_file_is_imported_by_a_worker_in_the_background_within_300_mb(
    tmp_path, administrator, tasks_go_to_redis
):
    rows = int(os.environ.get("WINBACK_IMPORT_BIG_ROWS", "50000"))
    path = big_customers_file(tmp_path / "big.csv", rows)
    size_mb = path.stat().st_size / MB
    database = settings.DATABASES["default"]
    env = clean_env(
        DJANGO_SETTINGS_MODULE="winback.settings.test",
        WINBACK_CELERY_EAGER="false",
        CELERY_BROKER_URL=REDIS_URL,
        DJANGO_MEDIA_ROOT=str(settings.MEDIA_ROOT),
        DATABASE_URL=(
            f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
    )
    client = Client()
    client.force_login(administrator)

    assert client.get(reverse(URL)).status_code == 200  # a running web process has its code loaded

    with Worker(env, tmp_path / "worker.log") as worker:
        with open(path, "rb") as handle:
            started = time.monotonic()
            response = client.post(reverse(URL), {"kind": "customers", "file": handle})
            request_seconds = time.monotonic() - started
        assert response.status_code == 302
        run = ImportRun.objects.get()
        checked = wait_for(lambda: ImportRun.objects.filter(pk=run.pk, status=ImportRun.Status.CHECKED).exists(), 900)
        assert checked, (ImportRun.objects.get(pk=run.pk).status, worker.output()[-3000:])
        check_seconds = time.monotonic() - started

        import_started = time.monotonic()
        confirmed = client.post(reverse("customers:import_detail", args=[run.pk]), {"action": "import"})
        confirm_seconds = time.monotonic() - import_started
        assert confirmed.status_code == 302
        done = wait_for(lambda: ImportRun.objects.filter(pk=run.pk, status=ImportRun.Status.DONE).exists(), 900)
        total = time.monotonic() - started
        import_seconds = time.monotonic() - import_started
        peak = peak_rss_mb(worker.process.pid)
        assert done, (ImportRun.objects.get(pk=run.pk).errors[:3], worker.output()[-3000:])

    run.refresh_from_db()
    assert (run.rows_total, run.rows_new, run.error_count) == (rows, rows, 0)
    assert Customer.objects.count() == rows
    assert request_seconds < 2, request_seconds
    assert confirm_seconds < 2, confirm_seconds
    assert peak < 300, f"worker peak RSS {peak:.0f} MB"
    print(
        f"IMP-04: peak RSS {peak:.0f} MB, rows/s {rows / import_seconds:,.0f}, total {total:.1f} s, "
        f"request {request_seconds:.2f} s ({rows:,} rows, {size_mb:.1f} MB; check {check_seconds:.1f} s, "
        f"import {import_seconds:.1f} s)"
    )
