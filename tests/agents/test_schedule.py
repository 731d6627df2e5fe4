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


def test_the_thread_runs_the_job_when_due_and_survives_a_failing_job():
    fired = threading.Event()
    runs: list[int] = []

    def job() -> None:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("first night fails")
        fired.set()

    cron = CronThread("* * * * * *", job).start()  # every second (seconds field last)
    try:
        assert fired.wait(5), "the scheduled job did not run twice within 5 s"
    finally:
        cron.stop()
    assert cron.runs >= 2


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
