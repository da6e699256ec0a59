"""JOB-11: a deploy — SIGTERM to the worker in the middle of a send run, a new worker started.

Workers run as docs/deploy.md's systemd unit runs them: prefork, `REMAP_SIGTERM=SIGQUIT`, and the
settings' `worker_soft_shutdown_timeout` of 25 s. SIGTERM goes to the main process (as `docker
stop`, Kubernetes and systemd's KillMode=mixed deliver it); the running batches may finish within
the soft shutdown, the late-acked messages not finished are put back on the private Redis broker,
and the new worker takes them. Pass: shutdown < 30 s; sent = N, lost 0, duplicates 0 (counted by
Message-ID at a loopback SMTP sink).
"""

import os
import signal
import time

import pytest

from winback.tests.drills import (
    DRILL_SIZE,
    SWEEP_SECONDS,
    WORKER,
    Beat,
    RedisServer,
    SmtpSink,
    Worker,
    dispatch,
    drill_env,
    figure,
    outcome,
    pytest_database_url,
    seed,
    sent,
    statuses,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_sigterm_to_the_worker_during_a_deploy_finishes_or_requeues_its_batches_within_30_seconds(tmp_path):
    database_url = pytest_database_url()
    with SmtpSink() as sink, RedisServer(tmp_path / "redis", appendonly=True) as server:
        env = drill_env(tmp_path, database_url=database_url, broker_url=server.url(), smtp_port=sink.port)
        seed(env)
        with Beat(env, tmp_path / "beat.log"), Worker(env, tmp_path / "old.log", *WORKER) as old:
            dispatch(env, "drill-deploy")
            assert wait_for(lambda: sent(database_url) >= DRILL_SIZE // 3, timeout=120, interval=0.02), old.output()
            in_flight = statuses(database_url)["sending"]
            signalled = time.monotonic()
            os.kill(old.process.pid, signal.SIGTERM)
            with Worker(env, tmp_path / "new.log", *WORKER) as new:
                old.process.wait(timeout=40)
                shutdown = time.monotonic() - signalled
                finished = wait_for(
                    lambda: sent(database_url) == DRILL_SIZE, timeout=SWEEP_SECONDS + DRILL_SIZE / 20, interval=0.2
                )
                recovery = time.monotonic() - signalled
                assert finished, f"{statuses(database_url)}\n{old.output()[-4000:]}\n{new.output()[-4000:]}"
            old_log = old.output()

    result = outcome(database_url, sink)
    figure(
        "JOB-11",
        recovery,
        result,
        shutdown=f"{shutdown:.1f} s",
        in_flight_at_sigterm=in_flight,
        old_worker_exit_code=old.process.returncode,
    )
    assert in_flight > 0  # the signal came mid-batch
    assert shutdown < 30
    assert "cold shutdown" in old_log.lower() or "warm shutdown" in old_log.lower(), old_log[-3000:]
    assert result["rows"] == result["sent"] == DRILL_SIZE
    assert result["lost"] == 0
    assert result["duplicates"] == 0
    assert result["foreign"] == 0
