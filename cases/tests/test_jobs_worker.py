"""Housekeeping on real processes: a detection run on a Celery worker (Redis broker, PostgreSQL test
database) starts case housekeeping (customers.tasks.after_detection), which the worker runs and
which opens the defector's case. Marked integration; `make test` provides Redis on 127.0.0.1:6379."""

import datetime as dt
import re
from decimal import Decimal

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from cases.models import Case, CaseEvent, CaseSettings
from customers.models import DetectionRun
from customers.tests.detection_helpers import buy, segment
from customers.tests.factories import CustomerFactory
from winback.models import JobRun
from winback.tests.factories import UserFactory
from winback.tests.processes import Worker, clean_env, send_from_another_process, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# A database of its own on the Redis server, emptied first: no other suite's worker takes our tasks.
REDIS_URL = "redis://127.0.0.1:6379/9"


@pytest.fixture(autouse=True)
def _empty_broker():
    redis.Redis.from_url(REDIS_URL).flushdb()


def process_env() -> dict[str, str]:
    database = settings.DATABASES["default"]
    return clean_env(
        DJANGO_SETTINGS_MODULE="winback.settings.test",
        WINBACK_CELERY_EAGER="false",
        CELERY_BROKER_URL=REDIS_URL,
        DATABASE_URL=(
            f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
    )


def test_a_detection_run_on_the_worker_starts_housekeeping_which_opens_the_case(tmp_path):
    manager = UserFactory(role="Account managers")
    gone = CustomerFactory(segment=segment(at_risk=60, defected=90), account_manager=manager)
    for days in (400, 300, 200):
        buy(gone, timezone.localdate() - dt.timedelta(days=days), "900.00")
    threshold = CaseSettings.load()
    threshold.value_threshold = Decimal("100")
    threshold.save()

    env = process_env()
    with Worker(env, tmp_path / "worker.log") as worker:
        send_from_another_process(
            env,
            "from customers.tasks import detect_defections_task\n"
            "print(detect_defections_task.delay(trigger='admin').id)",
        )
        case = wait_for(lambda: Case.objects.filter(customer=gone).first(), 90)
        claim = wait_for(lambda: JobRun.objects.filter(job="case_housekeeping", finished_at__isnull=False).first(), 30)
        log = worker.output()
    assert case is not None, log

    run = DetectionRun.objects.get()
    assert run.status == DetectionRun.Status.DONE, run.error
    event = gone.defection_events.get(status="open")
    assert (case.event, case.owner, case.is_open, case.opened_by) == (event, manager, True, None)
    assert case.value_at_stake == event.lost_revenue > 0
    assert CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.OPENED).count() == 1
    assert claim.slot == f"detection run {run.pk}"
    assert "opened 1 " in claim.outcome
    assert re.search(r"cases\.tasks\.case_housekeeping_task\[[0-9a-f-]+\] succeeded", log), log
