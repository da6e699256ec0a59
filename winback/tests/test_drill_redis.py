"""JOB-07: the broker fails during a send run — (a) `FLUSHALL` and a restart with persistence off,
(b) the same with the AOF on, (c) Redis unresponsive for 30 seconds while late-ack batches run.

A private `redis-server` (free port) is the broker of two prefork worker processes and a real beat;
the invitations live in the pytest test database, the messages go to a loopback SMTP sink. The
flush loses the queued batch messages (Redis only carries wake-ups): the next run of the send job
— the sweeper, one slot a minute, its beat entry ticking every 5 s — re-enqueues every unsent row
from PostgreSQL. Pass: that sweep within one interval (60 s), then sent = N, lost 0, duplicates 0
(counted by Message-ID at the sink).

(c) uses `CLIENT PAUSE 30000 ALL`: no iptables here (and no root network capability in CI), and
like a firewall DROP rule it holds every command on open and new connections for 30 s without
closing any; Redis lifts it by itself, so a failed test leaves nothing blocked. A refused
connection (a REJECT rule) is what (a) and (b) exercise: the restart drops every connection.
"""

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
    database_now,
    dispatch,
    drill_env,
    figure,
    first_sweep_after,
    outcome,
    pytest_database_url,
    seed,
    sent,
    statuses,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PAUSE_SECONDS = 30


@pytest.mark.parametrize(
    ("scenario", "appendonly"),
    [("a", False), ("b", True), ("c", True)],
    ids=["flush-restart-no-persistence", "flush-restart-aof", "unresponsive-30s"],
)
def test_a_broker_flushed_restarted_or_unresponsive_loses_no_invitation_and_sends_none_twice(
    tmp_path, scenario, appendonly
):
    database_url = pytest_database_url()
    with SmtpSink() as sink, RedisServer(tmp_path / "redis", appendonly=appendonly) as server:
        env = drill_env(tmp_path, database_url=database_url, broker_url=server.url(), smtp_port=sink.port)
        seed(env)
        with Worker(env, tmp_path / "worker.log", *WORKER) as worker, Beat(env, tmp_path / "beat.log") as beat:
            dispatch(env, f"drill-{scenario}")
            assert wait_for(lambda: sent(database_url) >= DRILL_SIZE // 3, timeout=120, interval=0.02), worker.output()
            disrupted_at, started = database_now(database_url), time.monotonic()
            if scenario == "c":
                server.client().execute_command("CLIENT", "PAUSE", str(PAUSE_SECONDS * 1000), "ALL")
            else:
                server.client().flushall()
                server.restart()
            at_disruption = statuses(database_url)
            finished = wait_for(
                lambda: sent(database_url) == DRILL_SIZE,
                timeout=PAUSE_SECONDS + 2 * SWEEP_SECONDS + DRILL_SIZE / 20,
                interval=0.2,
            )
            recovery = time.monotonic() - started
            assert finished, f"{statuses(database_url)}\n{worker.output()[-5000:]}\n{beat.output()[-3000:]}"
            sweep = first_sweep_after(database_url, disrupted_at)

    result = outcome(database_url, sink)
    waiting = at_disruption["pending"] + at_disruption["sending"]
    sweep_text = f"{sweep[0]:.1f} s ({sweep[1].rsplit(', ', 1)[-1]})" if sweep else "none needed"
    figure(
        f"JOB-07({scenario})",
        recovery,
        result,
        unsent_at_disruption=waiting,
        first_sweep_after=sweep_text,
        possible_duplicates=result["possible_duplicates"],
    )
    assert result["rows"] == result["sent"] == DRILL_SIZE
    assert result["lost"] == 0
    # Celery terminates the running batches when the broker connection drops; the signal waits
    # for the message being sent to be recorded (surveys.services.interruptions), so none is
    # left sent but unrecorded, to go out again.
    assert result["duplicates"] == result["possible_duplicates"] == 0
    assert result["foreign"] == 0
    assert waiting > 0  # the disruption came mid-run
    if scenario != "c":
        # The flushed wake-ups: the sweeper's first run after the restart re-enqueued the rest.
        assert sweep is not None
        assert sweep[0] <= SWEEP_SECONDS + 10, sweep
        assert recovery <= SWEEP_SECONDS + 10 + DRILL_SIZE / 50
    else:
        assert PAUSE_SECONDS - 1 <= recovery <= PAUSE_SECONDS + SWEEP_SECONDS + DRILL_SIZE / 50
