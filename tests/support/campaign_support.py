"""Worker functions for campaign tests: importable by spawned worker processes."""

from __future__ import annotations

import os

from robotops.sim.campaign.models import RunJob, RunMetrics, RunResult
from robotops.sim.campaign.worker import result_for


def crash_or_quick(job: RunJob) -> RunResult:
    """Kill the worker process for scenarios tagged 'crash'; otherwise a fast fake result."""
    if "crash" in job.scenario.tags:
        os._exit(3)
    return result_for(job, status="ok", metrics=RunMetrics(reached_goal=True))
