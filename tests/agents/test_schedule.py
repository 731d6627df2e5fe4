"""The nightly schedule: cron next-fire times, and a background thread that fires on time."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from robotops.agents.schedule import CronThread, next_fire
from robotops.errors import ConfigError


def test_next_fire_follows_the_cron_expression_in_utc():
    at = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    assert next_fire("0 2 * * *", at) == dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)
    assert next_fire("*/15 * * * *", at) == dt.datetime(2026, 11, 30, 9, 15, tzinfo=dt.UTC)
    with pytest.raises(ConfigError, match="invalid cron expression 'nightly'"):
        next_fire("nightly", at)


def test_the_thread_waits_until_each_due_time_and_survives_a_failing_job():
    """A simulated clock: the thread asks to wait exactly until each 02:00, runs the job, and a
    failing night does not end the schedule."""
    now = [dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)]
    waits: list[float] = []
    runs: list[dt.datetime] = []
    done = threading.Event()

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        now[0] += dt.timedelta(seconds=seconds)
        return len(runs) >= 3

    def job() -> None:
        runs.append(now[0])
        if len(runs) == 1:
            raise RuntimeError("first night fails")
        if len(runs) == 3:
            done.set()

    cron = CronThread("0 2 * * *", job, clock=lambda: now[0], wait=wait).start()
    try:
        assert done.wait(30), f"the job ran {len(runs)} times, not 3"
    finally:
        cron.stop()
    assert runs == [dt.datetime(2026, 12, d, 2, 0, tzinfo=dt.UTC) for d in (1, 2, 3)]
    assert waits[:3] == [17 * 3600.0, 24 * 3600.0, 24 * 3600.0]
    assert cron.runs == 3


def test_stop_ends_a_thread_waiting_on_the_real_clock():
    cron = CronThread("0 2 * * *", lambda: None).start()
    cron.stop()
    assert not cron._thread.is_alive() and cron.runs == 0


def test_a_broken_nightly_watermark_is_a_clear_error(tmp_path):
    from robotops.agents.nightly import read_watermark, watermark_path
    from robotops.settings import Settings

    settings = Settings(data_dir=tmp_path)
    assert read_watermark(settings) is None
    watermark_path(settings).write_text('{"since_ns": 42}')
    assert read_watermark(settings) == 42
    for broken in ("{not json", '["since_ns"]', '{"since_ns": "soon"}'):
        watermark_path(settings).write_text(broken)
        with pytest.raises(ConfigError, match="nightly watermark .* fix or delete it"):
            read_watermark(settings)
