"""What keeps a send batch from sending a message twice when its process is interrupted: a stop
signal waits for the message being sent to be recorded, and the record of a sent message waits
through a database restart (RELIABILITY.md JOB-07, JOB-08, JOB-11)."""

import signal
import threading
import time

from django.db import InterfaceError, OperationalError
from django.db import connection as db_connection

# How long a batch waits for PostgreSQL to come back before recording a message's outcome.
DATABASE_WAIT_SECONDS = 90


class TerminationAtMessageBoundary:
    """Defers the stop signals, in the main thread, to the next message boundary (`stop_here()`),
    which then raises the SystemExit the pool child's own handler would have raised: a batch
    stopped mid-message would leave it sent but not recorded, and it would go out twice (JOB-07,
    JOB-11). The signals: SIGTERM, and SIGQUIT, which Celery's pool uses instead when
    REMAP_SIGTERM=SIGQUIT (as deployed); a signal the process ignores stays ignored."""

    SIGNALS = (signal.SIGTERM, signal.SIGQUIT)

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> "TerminationAtMessageBoundary":
        if threading.current_thread() is threading.main_thread():
            for number in self.SIGNALS:
                current = signal.getsignal(number)
                if current != signal.SIG_IGN:
                    self._previous[number] = signal.signal(number, self._note)
        return self

    def __exit__(self, *exc) -> None:
        for number, previous in self._previous.items():
            signal.signal(number, previous if previous is not None else signal.SIG_DFL)

    def _note(self, signum, frame) -> None:
        self.signum = signum

    def stop_here(self) -> None:
        if self.signum is not None:
            raise SystemExit(-(256 - self.signum))  # as billiard's _shutdown_cleanup


def waiting_for_the_database(write):
    """Runs `write` (autocommit statements), waiting through a database restart (JOB-08): a
    message that went out must be recorded as sent, or it would go again when its lease ends."""
    deadline = time.monotonic() + DATABASE_WAIT_SECONDS
    while True:
        try:
            return write()
        except (OperationalError, InterfaceError):
            if time.monotonic() > deadline or db_connection.in_atomic_block:
                raise
            db_connection.close()  # the next query connects again
            time.sleep(1)
