"""Two imports of overlapping files at the same moment (IMP-05): both finish, neither deadlocks, and
the result is what running them one after the other would give."""

import threading
import time

import pytest
from django.db import connection

from customers import services
from customers.models import Customer, ImportRun, Segment
from customers.services.imports import LOCK_KEY
from winback.tests.processes import wait_for

# serialized_rollback: the flush after a transactional test must not take the role groups with it.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

FIRST, SECOND = range(0, 1500), range(750, 2250)
OVERLAP = range(750, 1500)  # the ids both files hold


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def customers_file(tmp_path, label: str, ids: range):
    """A customers file whose names and companies say which file wrote them."""
    rows = "".join(f"C{i:05d},{label} name {i},c{i}@example.org,{label} GmbH,retail\n" for i in ids)
    path = tmp_path / f"{label}.csv"
    path.write_text("customer_id,name,email,company,segment\n" + rows)
    return path


def run_together(paths, *, before_start=None) -> dict[str, ImportRun]:
    """Imports each file in its own thread, all released at once by a barrier."""
    barrier = threading.Barrier(len(paths))
    results: dict[str, object] = {}

    def work(label, path):
        try:
            barrier.wait(timeout=10)
            results[label] = services.import_file(kind="customers", path=path)
        except Exception as error:  # reported by the main thread
            results[label] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(label, path)) for label, path in paths.items()]
    for thread in threads:
        thread.start()
    if before_start:
        before_start()
    for thread in threads:
        thread.join(timeout=20)
    assert not any(thread.is_alive() for thread in threads), "an import hung (deadlock?)"
    for label, result in results.items():
        assert isinstance(result, ImportRun), f"{label}: {result!r}"
    return results


def assert_same_as_one_after_the_other(runs: dict[str, ImportRun]) -> None:
    first, second = runs["first"], runs["second"]
    assert first.status == second.status == ImportRun.Status.DONE, (first.errors, second.errors)
    assert set(Customer.objects.values_list("external_id", flat=True)) == {f"C{i:05d}" for i in range(2250)}
    # Every id is new exactly once; the overlap is updated by whichever import wrote last.
    assert first.rows_new + second.rows_new == 2250
    assert first.rows_updated + second.rows_updated == len(OVERLAP)
    assert first.rows_unchanged == second.rows_unchanged == 0
    later = "first" if first.rows_updated else "second"
    assert runs[later].rows_updated == len(OVERLAP)  # one import saw all of the other's rows: no interleaving
    overlapping = Customer.objects.filter(external_id__in=[f"C{i:05d}" for i in OVERLAP])
    versions = {(customer.name.split(" ")[0], customer.company) for customer in overlapping}
    assert versions == {(later, f"{later} GmbH")}
    assert Segment.objects.filter(name__iexact="retail").count() == 1


def test_two_overlapping_imports_started_together_both_finish_as_if_run_in_turn(tmp_path):
    paths = {
        "first": customers_file(tmp_path, "first", FIRST),
        "second": customers_file(tmp_path, "second", SECOND),
    }

    started = time.monotonic()
    runs = run_together(paths)
    seconds = time.monotonic() - started

    assert_same_as_one_after_the_other(runs)
    print(f"\nIMP-05: outcome serialised, both done, end state as run in turn, both finished in {seconds:.1f} s")


def test_an_import_waits_for_the_one_writing_instead_of_interleaving(tmp_path):
    """Holds the imports' lock until both imports wait for it, so they surely meet in the write phase."""
    paths = {
        "first": customers_file(tmp_path, "first", FIRST),
        "second": customers_file(tmp_path, "second", SECOND),
    }

    def waiting_for_the_lock() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = %s",
                [LOCK_KEY],
            )
            return cursor.fetchone()[0]

    def release_when_both_wait() -> None:
        assert wait_for(lambda: waiting_for_the_lock() == 2, timeout=15), "the imports never queued for the lock"
        assert Customer.objects.count() == 0  # nobody wrote while the lock was held
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
    try:
        runs = run_together(paths, before_start=release_when_both_wait)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock_all()")

    assert_same_as_one_after_the_other(runs)
