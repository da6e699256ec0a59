"""The checks behind /healthz/ready: the database, the broker, and the age of the last successful
detection and sending runs. Each returns (ok, details); details never carry a secret or an
exception's text (which may hold a host name or a password): only its class."""

import datetime as dt
import logging
import tempfile

from django.conf import settings
from django.db import connection
from django.db.models import Max, Min, Q
from django.utils import timezone

from customers.models import DetectionRun
from surveys.tasks import SEND_JOB
from winback.models import JobRun
from winback.ops.board import success_q

logger = logging.getLogger(__name__)


def check_database() -> tuple[bool, dict]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:
        logger.warning("health: database check failed: %r", error)
        return False, {"error": type(error).__name__}
    return True, {}


def check_broker(*, timeout: float = 2.0) -> tuple[bool, dict]:
    """Redis: PING through a Celery connection with a short timeout. The embedded default's
    filesystem transport: its queue folder accepts a new file."""
    from winback.celery import app

    url = settings.CELERY_BROKER_URL
    try:
        if url.startswith("filesystem"):
            folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".healthz-"):
                pass
            return True, {"transport": "filesystem"}
        options = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
        with app.connection_for_write(url=url, connect_timeout=timeout, transport_options=options) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
            client = getattr(conn.default_channel, "client", None)
            if client is not None:
                client.ping()
            return True, {"transport": conn.transport_cls}
    except Exception as error:
        logger.warning("health: broker check failed: %r", error)
        return False, {"error": type(error).__name__}


def detection_successes() -> dict:
    """The last successful detection run's end and the first run's start (one query)."""
    runs = DetectionRun.objects.filter(dry_run=False)
    return runs.aggregate(last=Max("finished_at", filter=Q(status=DetectionRun.Status.DONE)), first=Min("started_at"))


def sending_successes() -> dict:
    """The last successful sending run's end and the first run's start (one query)."""
    runs = JobRun.objects.filter(job=SEND_JOB)
    return runs.aggregate(last=Max("finished_at", filter=success_q()), first=Min("started_at"))


def check_age(runs: dict, max_minutes: int, now: dt.datetime) -> tuple[bool, dict]:
    """Fails when the last success (or, when none succeeded yet, the first run) is older than
    `max_minutes`. A job that never ran (a new installation) passes, so a fresh deployment is not
    taken out of the load balancer before beat has had its first tick."""
    reference = runs["last"] or runs["first"]
    if reference is None:
        return True, {"last_success": None, "max_age_minutes": max_minutes}
    age = round((now - reference).total_seconds() / 60, 1)
    details = {"age_minutes": age, "max_age_minutes": max_minutes}
    if runs["last"] is None:
        details["last_success"] = None
    return age <= max_minutes, details


def health_checks(*, now: dt.datetime | None = None) -> dict[str, tuple[bool, dict]]:
    now = now or timezone.now()
    checks = {"database": check_database(), "broker": check_broker()}
    if not checks["database"][0]:
        unknown = (False, {"error": "database unavailable"})
        return {**checks, "detection": unknown, "sending": unknown}
    checks["detection"] = check_age(detection_successes(), settings.WINBACK_HEALTH_DETECTION_MAX_AGE_MINUTES, now)
    checks["sending"] = check_age(sending_successes(), settings.WINBACK_HEALTH_SENDING_MAX_AGE_MINUTES, now)
    return checks
