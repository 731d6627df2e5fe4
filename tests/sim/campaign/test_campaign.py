"""Campaigns: every scenario x policy in worker processes, failures recorded per run, results
stored as they finish, resumed without reruns, replayed bit for bit."""

from __future__ import annotations

import json

import numpy as np
import pytest
from campaign_support import crash_or_quick
from typer.testing import CliRunner

from robotops.cli import app
from robotops.errors import ConfigError, NotFoundError
from robotops.policies.registry import bundled_policy, sha256_file
from robotops.settings import Settings, get_settings
from robotops.sim.campaign.executor import LocalExecutor, make_executor
from robotops.sim.campaign.models import CampaignRequest, PolicyRef, RunResult
from robotops.sim.campaign.policies import resolve_policy
from robotops.sim.campaign.runner import (
    campaign_status,
    pending_jobs,
    render_frame_at,
    replay_run,
    run_campaign,
)
from robotops.sim.campaign.store import CampaignStore
from robotops.sim.scenarios.io import write_scenarios
from robotops.sim.scenarios.spec import ScenarioSpec
from robotops.sim.world.specs import ObstacleHazard, WorldSpec


def spec(scenario_id: str, hazards: list | None = None, duration_s: float = 5.0, **kw):
    return ScenarioSpec(
        scenario_id=scenario_id,
        family="test",
        world=WorldSpec(aisle=1, hazards=hazards or []),
        start_x=-8.0,
        goal_x=-4.0,
        duration_s=duration_s,
        **kw,
    )


def v1_ref() -> PolicyRef:
    path = bundled_policy("v1")
    return PolicyRef(version="v1", weights_path=str(path), sha256=sha256_file(path))


def request(campaign_id: str, scenarios, policies, **kw) -> CampaignRequest:
    return CampaignRequest(campaign_id=campaign_id, scenarios=scenarios, policies=policies, **kw)


@pytest.fixture
def store(tmp_path) -> CampaignStore:
    return CampaignStore(tmp_path / "campaigns.db")


def test_campaign_records_failures_per_run_resumes_and_replays_bit_identically(store):
    scenarios = [spec("clear"), spec("pallet", [ObstacleHazard(x=-5.0, appear_s=0.0)])]
    tampered = v1_ref().model_copy(update={"version": "v1-tampered", "sha256": "0" * 64})
    req = request("c1", scenarios, [v1_ref(), tampered], workers=2)
    seen: list[tuple[int, int]] = []
    summary = run_campaign(req, store, progress=lambda r, done, total: seen.append((done, total)))
    assert (summary.total, summary.ok, summary.failed, summary.ran_now) == (4, 2, 2, 4)
    assert seen[-1] == (4, 4)
    results = {(r.scenario_id, r.policy_version): r for r in store.results("c1")}
    assert "weights hash" in results["clear", "v1-tampered"].error
    clear, pallet = results["clear", "v1"], results["pallet", "v1"]
    assert clear.metrics.reached_goal and not pallet.metrics.reached_goal
    assert pallet.metrics.collisions == 0 and pallet.metrics.true_stops == 1
    again = run_campaign(req, store)
    assert (again.ran_now, again.skipped, again.ok) == (0, 4, 2)
    replay = replay_run(pallet, store.scenario(pallet.scenario_sha256), bundled_policy("v1"))
    assert replay.trajectory_sha256 == pallet.trajectory_sha256
    assert replay.metrics == pallet.metrics


def test_frame_at_a_time_is_the_camera_image(store):
    path = bundled_policy("v1")
    frame = render_frame_at(spec("clear", duration_s=2.0), path, sha256_file(path), 0, 1.0)
    assert frame.shape == (96, 128, 3) and frame.dtype == np.uint8 and frame.std() > 5


def fake_result(req: CampaignRequest, index: int, status: str = "ok") -> RunResult:
    job = req.jobs()[index]
    return RunResult(
        run_id=job.run_id,
        campaign_id=req.campaign_id,
        scenario_id=job.scenario.scenario_id,
        scenario_sha256=job.scenario.sha256(),
        family="test",
        policy_version=job.policy.version,
        policy_sha256=job.policy.sha256,
        seed=job.seed,
        status=status,
    )


def test_resume_skips_exactly_the_finished_runs(store):
    req = request("c2", [spec(f"s{i}") for i in range(3)], [v1_ref()], repeats=2)
    assert len(req.jobs()) == 6 and len({j.run_id for j in req.jobs()}) == 6
    store.register(req, 6)
    store.put(fake_result(req, 0))
    store.put(fake_result(req, 3, status="failed"))
    todo, skipped = pending_jobs(req, store)
    assert skipped == 2
    assert {j.run_id for j in todo} == {req.jobs()[i].run_id for i in (1, 2, 4, 5)}
    retry = req.model_copy(update={"retry_failed": True})
    todo, skipped = pending_jobs(retry, store)
    assert skipped == 1 and req.jobs()[3].run_id in {j.run_id for j in todo}
    status = campaign_status(store, "c2")
    assert (status.total, status.ok, status.failed, status.pending) == (6, 1, 1, 4)
    with pytest.raises(NotFoundError, match="known: c2"):
        campaign_status(store, "nope")


def test_a_dead_worker_process_is_retried_then_recorded_and_others_finish(store):
    scenarios = [spec("a"), spec("boom", tags=["crash"]), spec("b")]
    req = request("c3", scenarios, [v1_ref()])
    executor = LocalExecutor(workers=1, retries=1, fn=crash_or_quick)
    try:
        summary = run_campaign(req, store, executor=executor)
    finally:
        executor.close()
    results = {r.scenario_id: r for r in store.results("c3")}
    assert results["boom"].status == "failed" and results["boom"].attempts == 2
    assert "died 2 time(s)" in results["boom"].error
    assert results["a"].status == results["b"].status == "ok"
    assert (summary.ok, summary.failed) == (2, 1)


def test_duplicate_runs_and_missing_ray_are_config_errors(store):
    req = request("c4", [spec("x"), spec("x")], [v1_ref()])
    with pytest.raises(ConfigError, match="appear twice"):
        run_campaign(req, store)
    settings = Settings(campaign={"ray_address": "ray://head:10001"})
    with pytest.raises(ConfigError, match="ray package is not installed"):
        make_executor(settings, 1, 0)


def test_tools_are_registered_with_their_typed_models():
    from robotops.tools.campaigns import tools as campaign_tools
    from robotops.tools.scenarios import tools as scenario_tools

    run_campaign = campaign_tools.toolset.get("run_campaign")
    assert run_campaign.input_model is campaign_tools.RunCampaignRequest
    generate = scenario_tools.toolset.get("generate_scenarios")
    assert generate.output_model is scenario_tools.GenerateScenariosResult
    assert "candidate policy" in run_campaign.description


def test_policies_resolve_from_fleet_bundle_or_file(tmp_path):
    assert resolve_policy("v1").sha256 == sha256_file(bundled_policy("v1"))
    with pytest.raises(NotFoundError, match="known: v1"):
        resolve_policy("v99", tmp_path / "no-fleet")
    explicit = resolve_policy("cand", weights=bundled_policy("v1"))
    assert explicit.version == "cand" and explicit.weights_path.endswith("v1.pt")


def test_cli_runs_a_campaign_and_reports_its_status(tmp_path):
    write_scenarios([spec("tiny", duration_s=2.0)], tmp_path / "sc")
    runner = CliRunner()
    args = ["campaign", "run", "--scenarios", str(tmp_path / "sc"), "--policy", "v1"]
    ran = runner.invoke(app, [*args, "--workers", "1", "--campaign", "cli-1", "--json"])
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout)["ok"] == 1
    status = runner.invoke(app, ["campaign", "status", "cli-1", "--json"])
    assert json.loads(status.stdout)["policies"]["v1"]["runs"] == 1
    assert (get_settings().data_dir / "campaigns.db").is_file()
    missing = runner.invoke(app, ["campaign", "status", "nope"])
    assert missing.exit_code == 2 and "unknown campaign" in missing.output
