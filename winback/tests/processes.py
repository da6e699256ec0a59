"""Starting and stopping real processes (Celery workers and beats) for the integration tests."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))


def clean_env(**overrides: str) -> dict[str, str]:
    """The test process's environment without our settings variables, plus the overrides."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "CELERY_", "WINBACK_")) and key != "DATABASE_URL"
    }
    env.update(overrides)
    return env


def run_manage(*args: str, env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


class _CeleryProcess:
    """A real `celery` process in its own session, stopped (and its children with it) on exit."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path):
        self.log_path = log_path
        self.log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [CELERY, "-A", "winback", *args],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if not self.log.closed:
            self.log.close()


class Worker(_CeleryProcess):
    """A real `celery worker` (solo pool: one task at a time, in the process itself)."""

    def __init__(self, env: dict[str, str], log_path: Path, *extra: str):
        args = ["worker", "--loglevel=INFO", "--pool=solo", "--without-gossip", "--without-mingle"]
        super().__init__([*args, "--without-heartbeat", *extra], env, log_path)


class Beat(_CeleryProcess):
    """A real `celery beat`. With the DatabaseScheduler (the project's setting) every beat reads the
    schedule from the database; `max_interval` keeps it checking often enough for short schedules."""

    def __init__(self, env: dict[str, str], log_path: Path, *extra: str, max_interval: int = 1):
        super().__init__(["beat", "--loglevel=INFO", f"--max-interval={max_interval}", *extra], env, log_path)


def wait_for(predicate, timeout: float = 60, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def send_from_another_process(env: dict[str, str], code: str) -> str:
    """Runs `code` in a fresh Django process (a sender sharing nothing but the services);
    returns the last line it printed."""
    sent = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert sent.returncode == 0, sent.stderr
    return sent.stdout.strip().splitlines()[-1] if sent.stdout.strip() else ""
