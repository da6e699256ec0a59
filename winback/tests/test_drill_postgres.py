"""JOB-08: PostgreSQL stopped for 20 seconds in the middle of a send run, then started again.

A private PostgreSQL 15 cluster (initdb + pg_ctl as the `postgres` user, a free port) holds the
invitations — migrated with `manage.py migrate` — so stopping it disturbs nobody; a private Redis is
the broker; two prefork worker processes and a real beat run the deployment's way; messages go to a
loopback SMTP sink. Pass: the workers reconnect (CONN_HEALTH_CHECKS), a batch waits for the
database to record a message that went out, the rest is retried; lost 0, duplicates 0, no stuck
worker — the queue drains after the restart. Report: failed attempts, recovery time.
"""

import re
import time

import pytest

from winback.tests.drills import (
    DRILL_SIZE,
    SWEEP_SECONDS,
    WORKER,
    Beat,
    PostgresServer,
    RedisServer,
    SmtpSink,
    Worker,
    dispatch,
    drill_env,
    figure,
    outcome,
    query,
    seed,
    sent,
    statuses,
    wait_for,
)
from winback.tests.processes import run_manage

pytestmark = pytest.mark.integration

OUTAGE_SECONDS = 20


def test_postgresql_stopped_for_20_seconds_mid_batch_loses_no_invitation_and_leaves_no_stuck_worker(tmp_path):
    with SmtpSink() as sink, RedisServer(tmp_path / "redis", appendonly=True) as broker, PostgresServer() as server:
        database_url = server.url()
        env = drill_env(tmp_path, database_url=database_url, broker_url=broker.url(), smtp_port=sink.port)
        run_manage("migrate", "--noinput", env=env)
        seed(env)
        with Worker(env, tmp_path / "worker.log", *WORKER) as worker, Beat(env, tmp_path / "beat.log") as beat:
            dispatch(env, "drill-postgres")
            assert wait_for(lambda: sent(database_url) >= DRILL_SIZE // 3, timeout=120, interval=0.02), worker.output()
            server.stop()
            time.sleep(OUTAGE_SECONDS)
            server.start()
            started = time.monotonic()
            finished = wait_for(
                lambda: sent(database_url) == DRILL_SIZE, timeout=3 * SWEEP_SECONDS + DRILL_SIZE / 20, interval=0.2
            )
            recovery = time.monotonic() - started
            log = worker.output()
            assert finished, f"{statuses(database_url)}\n{log[-6000:]}\n{beat.output()[-2000:]}"
            # No stuck worker: after the queue drained, the same worker still takes new work.
            dispatch(env, "drill-postgres-after")
            assert wait_for(lambda: "slot drill-postgres-after:" in worker.output(), timeout=30), worker.output()[
                -3000:
            ]
        result = outcome(database_url, sink)
        retried = query(database_url, "SELECT count(*) FROM surveys_invitation WHERE attempts > 1")[0][0]

    failed_tasks = len(re.findall(r"Task surveys\.tasks\.\S+\[[0-9a-f-]+\] raised", log))
    database_errors = log.count("OperationalError") + log.count("InterfaceError")
    figure(
        "JOB-08",
        recovery,
        result,
        failed_tasks=failed_tasks,
        database_errors_logged=database_errors,
        rows_retried=retried,
        possible_duplicates=result["possible_duplicates"],
    )
    assert result["rows"] == result["sent"] == DRILL_SIZE
    assert result["lost"] == 0
    assert result["duplicates"] == 0
    assert result["foreign"] == 0
