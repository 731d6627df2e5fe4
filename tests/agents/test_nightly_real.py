"""The nightly flywheel with every real tool (no stand-ins) on a small simulated fleet: real
shift logs pulled over HTTP, triage, labels, a scenario family, a fine-tuned v2, two MuJoCo
campaigns and the judge; then a person approves the canary stage in the inbox and the thread,
resumed as the API resumes it, puts v2 on the canary robot through the fleet API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from langgraph.types import Command

from robotops.agents.nightly import NightlyResult, run_nightly
from robotops.agents.runner import config, open_graph, outcome
from robotops.memory.approval_models import Actor, Decision
from robotops.settings import (
    AgentSettings,
    CampaignSettings,
    FleetSettings,
    Settings,
    SimSettings,
)
from robotops.sim.fleet.serve import serve_in_thread
from robotops.sim.fleet.service import create_fleet_app
from robotops.sim.fleet.shift import ShiftConfig, run_shift
from robotops.tools.context import ToolContext
from robotops.tools.fleet.client import FleetClient

RAJ = Actor(name="raj", role="approver")
SMALL = AgentSettings(
    scenario_variants=4,
    scenario_duration_s=10.0,
    training_sim_frames=200,
    training_epochs=4,
    judge_min_runs=4,
    rollout_bake_minutes=[0.25],
)


@dataclass
class Night:
    settings: Settings
    fleet: FleetClient
    result: NightlyResult
    thread: dict


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Night]:
    """Four robots for a simulated minute (#102 and #104 drive into glare), then one night."""
    root = tmp_path_factory.mktemp("nightly-real")
    run_shift(root / "fleet", ShiftConfig(robots=4, minutes=1.0, seed=0, hazards=["glare"]))
    with (
        serve_in_thread(create_fleet_app(root / "fleet")) as url,
        FleetClient(url) as fleet,
    ):
        settings = Settings(
            data_dir=root / "data",
            fleet=FleetSettings(url=url, retries=1),
            sim=SimSettings(workers=2),
            campaign=CampaignSettings(workers=2),
            agents=SMALL,
        )
        result = run_nightly(settings, thread_id="nightly-real")
        with open_graph(settings) as graph:
            thread = outcome(graph, "nightly-real")
        yield Night(settings, fleet, result, thread)


def _arguments(night: Night) -> dict[str, dict]:
    """Tool name -> the arguments the agents called it with, over the whole thread."""
    return {
        call["tool"]: call["arguments"]
        for finding in night.thread["findings"].values()
        for call in finding["tool_calls"]
    }


def _verdict(night: Night) -> dict:
    judge = night.thread["findings"]["validation-judge"]["results"]["judge_candidate"]
    return judge["verdict"]


def test_the_nightly_trains_judges_and_stops_at_the_inbox(night: Night) -> None:
    result = night.result
    assert not result.error, result.error
    assert list(result.findings) == [
        "triage",
        "auto-labeler",
        "scenario-generator",
        "training-planner",
        "validation-judge",
    ]
    assert result.findings["triage"].startswith(("#102 stalled", "#104 stalled"))
    assert "glare" in result.findings["triage"]
    assert result.findings["training-planner"].startswith("trained v2 from v1 on ")
    verdict = _verdict(night)
    assert (verdict["candidate_version"], verdict["incumbent_version"]) == ("v2", "v1")
    assert result.findings["validation-judge"].startswith(
        f"Verdict on v2 vs v1: {verdict['verdict']}."
    )
    sent = _arguments(night)  # the flywheel's size settings reach the tools
    family = sent["generate_scenarios"]
    assert (family["variants"], family["duration_s"]) == (4, 10.0)
    assert (sent["plan_training"]["sim_frames"], sent["plan_training"]["epochs"]) == (200, 4)
    assert sent["judge_candidate"]["config"] == {"min_runs": 4}
    approvals = ToolContext(night.settings).approvals.store.list()
    # seed 0 at these sizes is a night where the fine-tune fixes the glare stalls: the judge
    # must promote (the same seeds replay bit-identically, so this outcome is fixed)
    assert verdict["verdict"] == "promote", verdict["reasons"]
    assert result.status == "waiting" and result.waiting_at == ["await_stage_approval"]
    stage = ToolContext(night.settings).approvals.store.get(result.approval_id)
    assert stage.thread_id == "nightly-real" and stage.status == "pending"
    assert (stage.action, stage.requested_by) == ("rollout_stage", "nightly")
    assert {p.version for p in night.fleet.policies()} >= {"v1", "v2"}  # published, not run
    assert {r.policy_version for r in night.fleet.robots()} == {"v1"}
    assert [a.id for a in approvals] == [result.approval_id]


def test_an_approved_canary_stage_puts_v2_on_the_canary_robot(night: Night) -> None:
    assert _verdict(night)["verdict"] == "promote"
    approval = ToolContext(night.settings).approvals.store.get(night.result.approval_id)
    canary = approval.targets
    ToolContext(night.settings).approvals.decide(
        approval.id, Decision(approve=True, comment="canary looks fine"), RAJ
    )
    with open_graph(night.settings) as graph:  # as POST /approvals/{id}/decision resumes it
        graph.invoke(Command(resume={"approve": True, "by": RAJ.name}), config("nightly-real"))
        after = outcome(graph, "nightly-real")
    rollout = after["rollout"] if after["status"] == "done" else _rollout(night)
    assert rollout["current_stage"] >= 0 and rollout["stages"] >= 2
    baked = {
        (m.robot_id, m.policy_version) for m in night.fleet.metrics() if m.policy_version == "v2"
    }
    assert baked == {(r, "v2") for r in canary}  # v2 ran on the canary, and only there
    # the canary's bake holds its gates on this seed: the next stage waits for a person
    assert rollout["status"] == "awaiting_approval", rollout
    assert after["status"] == "waiting" and after["waiting_at"] == ["await_stage_approval"]
    assert after["approval_id"] not in (None, approval.id)
    # the canary runs the candidate's bytes, every other robot the incumbent's
    hashes = {p.version: p.sha256 for p in night.fleet.policies()}
    trained = _trained_sha256(night)
    assert hashes["v2"] == trained == approval.artifact_sha256 and hashes["v1"] != trained
    running = {r.robot_id: hashes[r.policy_version] for r in night.fleet.robots()}
    assert {r for r, h in running.items() if h == trained} == set(canary)
    assert all(h == hashes["v1"] for r, h in running.items() if r not in canary)


def _trained_sha256(night: Night) -> str:
    """The hash of the weights the training planner wrote, read from the policy store's file."""
    import hashlib
    from pathlib import Path

    path = _find(night.thread["findings"]["training-planner"]["results"], "weights_path")
    assert path, "the training planner reported no weights"
    return hashlib.sha256(Path(str(path)).read_bytes()).hexdigest()


def _find(tree: object, key: str) -> object:
    if isinstance(tree, dict):
        if key in tree:
            return tree[key]
        for v in tree.values():
            if (found := _find(v, key)) is not None:
                return found
    return None


def _rollout(night: Night) -> dict:
    with open_graph(night.settings) as graph:
        return dict(graph.get_state(config("nightly-real")).values)["rollout"]
