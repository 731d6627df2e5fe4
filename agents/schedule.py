"""Run a job on a cron schedule in a background thread (``robotops serve`` runs the nightly).

Cron expressions are parsed by croniter (5 fields, or 6 with seconds last); times are UTC.
A job that fails is logged and the schedule goes on.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

from croniter import croniter

from robotops.errors import ConfigError

log = logging.getLogger(__name__)


def next_fire(cron: str, after: dt.datetime) -> dt.datetime:
    """The first time strictly after ``after`` that ``cron`` names."""
    if not croniter.is_valid(cron):
        raise ConfigError(
            f"invalid cron expression {cron!r} (ROBOTOPS_NIGHTLY_CRON), e.g. '0 2 * * *'"
        )
    return croniter(cron, after).get_next(dt.datetime)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class CronThread:
    """Calls ``job`` at every time ``cron`` names until stopped.

    ``clock`` and ``wait`` default to the wall clock and the stop event's wait; a test passes
    its own so the schedule is checked by the times it asks for, not by how long it sleeps.
    ``wait(seconds)`` returns True when the thread should stop.
    """

    def __init__(
        self,
        cron: str,
        job: Callable[[], object],
        clock: Callable[[], dt.datetime] = _utc_now,
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        next_fire(cron, clock())  # a bad expression fails here, not later
        self.cron, self.job = cron, job
        self.runs = 0
        self._stop = threading.Event()
        self._clock = clock
        self._wait = wait or self._stop.wait
        self._thread = threading.Thread(target=self._loop, name="robotops-cron", daemon=True)

    def start(self) -> CronThread:
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)

    def _loop(self) -> None:
        while True:
            now = self._clock()
            wait_s = (next_fire(self.cron, now) - now).total_seconds()
            if self._wait(max(wait_s, 0.0)) or self._stop.is_set():
                return
            try:
                self.job()
            except Exception:  # a failed night must not end the schedule
                log.exception("scheduled job failed; next run at the next scheduled time")
            self.runs += 1
