"""The stage-by-stage rollout nodes in a real LangGraph with a SQLite checkpointer: each stage
waits (checkpointed) for a person's decision in the approval store, and resumes in a fresh graph
as another process would."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command
from rollout_verdict import verdict

from robotops.agents.deps import AgentDeps
from robotops.agents.rollout.stages import (
    RolloutState,
    after_approval,
    after_propose,
    after_stage,
    await_stage_approval,
    propose_rollout_node,
    request_stage_approval_node,
    run_stage_node,
)
from robotops.memory.approval_models import Actor, Decision
from robotops.settings import FleetSettings, Settings
from robotops.sim.fleet.models import RobotShiftMetrics
from robotops.sim.fleet.robot_metrics import write_shift_metrics
from robotops.sim.fleet.serve import serve_in_thread
from robotops.sim.fleet.service import create_fleet_app
from robotops.sim.fleet.state import FleetRecord, FleetStore, PolicyRecord, RobotRecord, ShiftRecord
from robotops.tools.context import ToolContext
from robotops.tools.rollout.executor import RolloutDeps
from robotops.tools.rollout.models import Rollout, StagePlan
from robotops.tools.rollout.store import RolloutStore
from robotops.tools.rollout.tools import rollout_toolset

RAJ = Actor(name="raj", role="approver")
GOOD = {"stalls": 2, "stall_time_s": 15.0, "phantom_stops": 2, "distance_m": 15.0}


def report_shift(store: FleetStore, profiles: dict[str, dict]) -> None:
    """Every robot reports half a simulated minute per its current version's profile."""
    with store.update() as rec:
        shift_id = f"shift-{len(rec.shifts) + 1:03d}"
        rec.shifts.append(
            ShiftRecord(shift_id=shift_id, start_ns=0, duration_s=30, seed=0, hazards=[])
        )
        versions = {r: x.policy_version for r, x in rec.robots.items()}
    rows = [
        RobotShiftMetrics(
            shift_id=shift_id,
            robot_id=r,
            zone="aisle-1",
            policy_version=v,
            hours=30 / 3600,
            **profiles[v],
        )
        for r, v in versions.items()
    ]
    write_shift_metrics(store.root, shift_id, rows)


@dataclass
class ScriptedBake:
    store: FleetStore
    profiles: dict[str, dict]

    def bake(self, rollout: Rollout, stage: StagePlan) -> None:
        report_shift(self.store, self.profiles)


@dataclass
class Rig:
    store: FleetStore
    deps: AgentDeps
    bake: ScriptedBake
    db: Path

    def graph(self) -> CompiledStateGraph:
        """A fresh graph over the same checkpoint file: what a new process would build."""

        def make(ctx: ToolContext) -> RolloutDeps:
            return RolloutDeps(
                fleet=ctx.fleet,
                approvals=ctx.approvals,
                store=RolloutStore(ctx.data_dir / "rollouts"),
                baker=self.bake,
                confirm_wait_s=0.01,
            )

        deps = replace(self.deps, toolsets={**self.deps.toolsets, "rollout": rollout_toolset(make)})
        g = StateGraph(RolloutState)
        g.add_node("propose_rollout", partial(propose_rollout_node, deps=deps))
        g.add_node("request_stage_approval", partial(request_stage_approval_node, deps=deps))
        g.add_node("await_stage_approval", partial(await_stage_approval, deps=deps))
        g.add_node("run_stage", partial(run_stage_node, deps=deps))
        g.add_edge(START, "propose_rollout")
        g.add_conditional_edges("propose_rollout", after_propose)
        g.add_edge("request_stage_approval", "await_stage_approval")
        g.add_conditional_edges("await_stage_approval", after_approval)
        g.add_conditional_edges("run_stage", after_stage)
        saver = SqliteSaver(sqlite3.connect(self.db, check_same_thread=False))
        return g.compile(checkpointer=saver)

    def versions(self) -> dict[str, str]:
        return {r: x.policy_version for r, x in self.store.load().robots.items()}


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    store = FleetStore(tmp_path / "fleet")
    store.save(
        FleetRecord(
            robots={
                r: RobotRecord(robot_id=r, zone=z, policy_version="v1")
                for r, z in (("101", "aisle-1"), ("102", "aisle-2"), ("103", "aisle-3"))
            },
            policies={
                v: PolicyRecord(version=v, sha256=v[-1] * 64, path=f"{v}.pt") for v in ("v1", "v2")
            },
        )
    )
    bake = ScriptedBake(store, {"v1": GOOD, "v2": GOOD})
    report_shift(store, bake.profiles)
    with serve_in_thread(create_fleet_app(store.root)) as url:
        settings = Settings(data_dir=tmp_path / "data", fleet=FleetSettings(url=url, retries=1))
        settings.data_dir.mkdir()
        yield Rig(store, AgentDeps(ctx=ToolContext(settings)), bake, tmp_path / "checkpoints.db")


def start(rig: Rig, thread: str) -> dict:
    cfg = {"configurable": {"thread_id": thread}}
    return rig.graph().invoke({"verdict": verdict().model_dump(mode="json")}, cfg)


def decide(rig: Rig, thread: str, approve: bool = True) -> dict:
    """A person decides in the inbox; a new graph resumes the thread."""
    cfg = {"configurable": {"thread_id": thread}}
    approval_id = rig.graph().get_state(cfg).values["rollout_approval_id"]
    rig.deps.approvals.decide(approval_id, Decision(approve=approve), RAJ)
    return rig.graph().invoke(Command(resume={"approve": approve, "by": "raj"}), cfg)


def test_each_stage_waits_for_its_own_approval_then_the_loop_finishes(rig: Rig) -> None:
    state = start(rig, "t1")
    assert "__interrupt__" in state and set(rig.versions().values()) == {"v1"}
    waited = []
    while "__interrupt__" in state:
        waited.append(state["rollout_approval_id"])
        state = decide(rig, "t1")
    assert len(set(waited)) == 3  # canary, 67%, all: three separate approvals
    assert state["rollout"]["status"] == "completed"
    assert set(rig.versions().values()) == {"v2"}
    for approval_id in waited:
        approval = rig.deps.approvals.store.get(approval_id)
        assert (approval.action, approval.status, approval.thread_id) == (
            "rollout_stage",
            "used",
            "t1",
        )


def test_a_forged_resume_moves_nothing_and_a_rejection_stops(rig: Rig) -> None:
    start(rig, "t2")
    cfg = {"configurable": {"thread_id": "t2"}}
    forged = rig.graph().invoke(Command(resume={"approve": True, "by": "raj"}), cfg)
    assert "is pending: rollout stopped" in forged["error"]
    assert set(rig.versions().values()) == {"v1"}
    start(rig, "t3")
    rejected = decide(rig, "t3", approve=False)
    assert "is rejected" in rejected["error"]
    assert set(rig.versions().values()) == {"v1"}


def test_a_bad_canary_is_rolled_back_and_the_loop_ends(rig: Rig) -> None:
    rig.bake.profiles["v2"] = {**GOOD, "stall_time_s": 29.0, "distance_m": 1.0}
    start(rig, "t4")
    state = decide(rig, "t4")
    assert "__interrupt__" not in state
    assert state["rollout"]["status"] == "rolled_back"
    assert "stall_time_share" in state["rollout"]["reason"]
    assert set(rig.versions().values()) == {"v1"}


def test_a_run_that_dies_mid_stage_is_resumed_by_reconciling_not_redeploying(rig: Rig) -> None:
    calls = []
    scripted = rig.bake.bake

    def dies_once(rollout: Rollout, stage: StagePlan) -> None:
        calls.append(stage.index)
        if len(calls) == 1:
            raise RuntimeError("orchestrator died mid-bake")
        scripted(rollout, stage)

    rig.bake.bake = dies_once  # type: ignore[method-assign]
    start(rig, "t5")
    with pytest.raises(RuntimeError, match="died mid-bake"):
        decide(rig, "t5")
    assert rig.versions()["101"] == "v2"  # live on the approved canary
    cfg = {"configurable": {"thread_id": "t5"}}
    state = rig.graph().invoke(None, cfg)  # a new process picks the thread up
    assert state["rollout"]["status"] == "awaiting_approval"
    assert state["rollout"]["current_stage"] == 1 and calls == [0, 0]
    assert len(rig.store.load().deployments) == 1
