"""One run, inside a worker process: load the policy (verifying its hash), run the scenario.

Any exception a run raises (a bad policy file, a diverged simulation) becomes that run's failed
result here, so the campaign goes on; only a dead process escapes, and the executor retries it.
"""

from __future__ import annotations

import math
import time
import traceback
from functools import lru_cache
from pathlib import Path

from robotops.policies.controller import ControllerConfig
from robotops.policies.perception import Perception
from robotops.sim.campaign.models import PolicyRef, RunJob, RunMetrics, RunResult

ERROR_CHARS = 2000


@lru_cache(maxsize=8)
def _policy(weights_path: str, sha256: str) -> tuple[Perception, ControllerConfig]:
    """Load once per process: campaigns run many scenarios per policy."""
    import torch

    from robotops.policies.registry import load_policy

    torch.set_num_threads(1)  # one core per worker: processes, not threads, give the parallelism
    perception, card = load_policy(Path(weights_path), sha256)
    return perception, card.controller


def load_ref(policy: PolicyRef) -> tuple[Perception, ControllerConfig]:
    return _policy(policy.weights_path, policy.sha256)


def result_for(job: RunJob, **fields: object) -> RunResult:
    return RunResult(
        run_id=job.run_id,
        campaign_id=job.campaign_id,
        scenario_id=job.scenario.scenario_id,
        scenario_sha256=job.scenario.sha256(),
        family=job.scenario.family,
        tags=job.scenario.tags,
        policy_version=job.policy.version,
        policy_sha256=job.policy.sha256,
        seed=job.seed,
        **fields,
    )


def execute_run(job: RunJob) -> RunResult:
    """Run one job to a result; never raises for a failure of the run itself."""
    from robotops.sim.scenarios.run import run_scenario

    start = time.perf_counter()
    try:
        perception, controller = load_ref(job.policy)
        out = run_scenario(job.scenario, perception, job.seed, controller)
        _check_finite(out.metrics)
    except Exception as exc:  # any failure of one run is that run's result
        detail = "".join(traceback.format_exception_only(exc)).strip()
        wall_s = round(time.perf_counter() - start, 3)
        return result_for(job, status="failed", error=detail[-ERROR_CHARS:], wall_s=wall_s)
    return result_for(
        job,
        status="ok",
        metrics=out.metrics,
        trajectory_sha256=out.trajectory_sha256,
        failure_time_s=out.failure_time_s,
        wall_s=round(time.perf_counter() - start, 3),
    )


def _check_finite(metrics: RunMetrics) -> None:
    bad = [
        k for k, v in metrics.model_dump().items() if isinstance(v, float) and not math.isfinite(v)
    ]
    if bad:
        raise ArithmeticError(f"non-finite metrics: {', '.join(bad)}")
