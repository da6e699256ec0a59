"""The production queue: a real Celery worker on a real Redis broker and the PostgreSQL test
database. Marked integration; `make test` provides Redis on 127.0.0.1:6379."""

import pytest
from django.conf import settings

from winback.tests.processes import Worker, clean_env, send_from_another_process

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

REDIS_URL = "redis://127.0.0.1:6379/15"


def redis_env() -> dict[str, str]:
    database = settings.DATABASES["default"]
    return clean_env(
        DJANGO_SETTINGS_MODULE="winback.settings.test",
        WINBACK_CELERY_EAGER="false",
        CELERY_BROKER_URL=REDIS_URL,
        CELERY_RESULT_BACKEND=REDIS_URL,
        DATABASE_URL=(
            f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
    )


def test_a_worker_on_redis_consumes_a_task_sent_by_another_process(tmp_path):
    env = redis_env()
    with Worker(env, tmp_path / "worker.log") as worker:
        answer = send_from_another_process(env, "from winback.tasks import ping\nprint(ping.delay().get(timeout=60))")
        assert answer == "pong", worker.output()
        assert "Connected to redis://127.0.0.1:6379/15" in worker.output().replace(":**@", "")
