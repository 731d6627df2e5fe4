"""Run a campaign (every scenario x policy x seed), resumably, and replay any of its runs.

Results go to the store as each run finishes; a rerun of the same campaign id skips every run
already stored, so a killed campaign loses at most the runs that were in flight and repeats
none. Replays run in-process and must give the stored trajectory hash bit for bit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from robotops.errors import ConfigError
from robotops.settings import Settings, get_settings
from robotops.sim.campaign.executor import Executor, make_executor
from robotops.sim.campaign.models import (
    CampaignRequest,
    CampaignSummary,
    PolicyRef,
    RunJob,
    RunResult,
    summarize,
)
from robotops.sim.campaign.store import CampaignStore
from robotops.sim.campaign.worker import execute_run, load_ref
from robotops.sim.scenarios.spec import ScenarioSpec

Progress = Callable[[RunResult, int, int], None]  # (result, done, total)


def pending_jobs(req: CampaignRequest, store: CampaignStore) -> tuple[list[RunJob], int]:
    """The jobs still to run, and how many of the campaign's jobs are already finished."""
    jobs = req.jobs()
    ids = [j.run_id for j in jobs]
    if len(set(ids)) != len(ids):
        raise ConfigError(
            "the same scenario, policy and seed appear twice in this campaign: give each "
            "scenario its own content or seed, and each policy version its own weights"
        )
    done = store.finished(req.campaign_id, include_failed=not req.retry_failed)
    todo = [j for j in jobs if j.run_id not in done]
    return todo, len(jobs) - len(todo)


def run_campaign(
    req: CampaignRequest,
    store: CampaignStore,
    progress: Progress | None = None,
    executor: Executor | None = None,
    settings: Settings | None = None,
) -> CampaignSummary:
    """Run what is not yet done of ``req``, storing each result as it finishes."""
    start = time.perf_counter()
    todo, skipped = pending_jobs(req, store)
    total = len(todo) + skipped
    store.register(req, total)
    own = executor is None
    executor = executor or make_executor(settings or get_settings(), req.workers, req.retries)
    ran = 0
    try:
        for result in executor.run(todo):
            store.put(result)
            ran += 1
            if progress:
                progress(result, skipped + ran, total)
    finally:
        if own:
            executor.close()
    summary = summarize(req.campaign_id, store.results(req.campaign_id), total, ran, skipped)
    summary.wall_s = round(time.perf_counter() - start, 3)
    return summary


def campaign_status(store: CampaignStore, campaign_id: str) -> CampaignSummary:
    """What a (possibly interrupted) campaign has so far."""
    total, _ = store.campaign(campaign_id)
    return summarize(campaign_id, store.results(campaign_id), total)


def _job(result: RunResult, spec: ScenarioSpec, weights_path: Path) -> RunJob:
    policy = PolicyRef(
        version=result.policy_version, weights_path=str(weights_path), sha256=result.policy_sha256
    )
    return RunJob(campaign_id=result.campaign_id, scenario=spec, policy=policy, seed=result.seed)


def replay_run(result: RunResult, spec: ScenarioSpec, weights_path: Path) -> RunResult:
    """Run a stored run again in this process; compare ``trajectory_sha256`` to check it."""
    if spec.sha256() != result.scenario_sha256:
        raise ConfigError(
            f"scenario {spec.scenario_id} has changed since run {result.run_id} "
            f"(sha {spec.sha256()[:12]} != {result.scenario_sha256[:12]}): replay the stored one"
        )
    return execute_run(_job(result, spec, Path(weights_path)))


def render_frame_at(
    spec: ScenarioSpec, weights_path: Path, sha256: str, seed: int, t_s: float
) -> np.ndarray:
    """The camera frame (H, W, 3 uint8) the policy saw at sim time ``t_s`` of this run."""
    from robotops.sim.scenarios.run import scenario_frame

    policy = PolicyRef(version="replay", weights_path=str(weights_path), sha256=sha256)
    perception, controller = load_ref(policy)
    return scenario_frame(spec, perception, t_s, seed, controller)
