"""Eval: staged rollouts on a small simulated fleet, over the real fleet API.

Three scenarios on one fleet (real MuJoCo shifts, real HTTP, real approvals, in this order so
each starts from every robot on the incumbent ``v1``):

(b) a deliberately bad candidate is rolled back at the canary stage; we report how long from
    the gate failing to every robot confirmed back on the incumbent, in simulated seconds (no
    simulated time passes in between: nothing is baked during a rollback) and in wall seconds;
(c) a good candidate under injected faults: the fleet API down during a deploy, 5xx answers,
    a lost deploy reply, a robot dropping offline, the orchestrator SIGKILLed mid-bake and
    reconciled, a robot reporting a wrong version; after each, we count robots left on a
    version nobody approved or whose report differs from what it runs (goal 0);
(a) the good candidate goes canary -> all, a test approver approving each stage.

The judge is not under test here: each candidate gets a ``promote`` verdict built by the eval.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Literal

import torch
from pydantic import BaseModel, Field

from robotops.errors import FleetUnavailableError
from robotops.memory.approval_models import Actor, Decision
from robotops.memory.approvals import ApprovalStore
from robotops.policies.registry import PolicyCard, bundled_policy, load_policy, save_policy
from robotops.sim.fleet.faults import FaultRule, FleetFaults, save_faults
from robotops.sim.fleet.models import AdvanceRequest
from robotops.sim.fleet.serve import serve_in_thread
from robotops.sim.fleet.service import create_fleet_app
from robotops.sim.fleet.shift import ensure_fleet, publish_policy
from robotops.sim.fleet.state import FleetStore
from robotops.tools.approvals.service import ApprovalService
from robotops.tools.fleet.client import FleetClient
from robotops.tools.judge.models import JudgeConfig, Verdict
from robotops.tools.rollout.executor import (
    RolloutDeps,
    SimulatedFleetBake,
    allowed_versions,
    reconcile,
    request_stage_approval,
    run_stage,
    start_rollout,
)
from robotops.tools.rollout.models import Rollout
from robotops.tools.rollout.plan import ProposeRolloutRequest, propose_plan
from robotops.tools.rollout.store import RolloutStore

BadKind = Literal["phantom", "blind"]
APPROVER = Actor(name="eval-approver", role="approver")


class RolloutEvalConfig(BaseModel):
    robots: int = Field(4, ge=2, le=16)
    baseline_minutes: float = Field(0.5, gt=0)
    bake_minutes: float = Field(0.25, gt=0)
    seed: int = 0
    workers: int = Field(0, ge=0, description="simulation processes; 0 = CPU count")
    bad: BadKind = Field(
        "phantom",
        description="phantom: perception sees obstacles everywhere; blind: never sees any",
    )
    out_dir: Path | None = None


class ScenarioResult(BaseModel):
    name: str
    rollout_id: str
    status: str
    stages_passed: int
    bakes: int
    steps: list[str] = Field(default_factory=list, description="what happened, in order")
    strays_after_each_step: list[int] = Field(default_factory=list)
    strays_final: int = Field(description="robots on an unapproved or unknown version at the end")
    failed_gates: list[str] = Field(default_factory=list)
    gate_failure_to_incumbent_sim_s: float | None = None
    gate_failure_to_incumbent_wall_s: float | None = None
    canary_exposure_robot_s: float | None = None


class RolloutEvalResult(BaseModel):
    config: RolloutEvalConfig
    scenarios: list[ScenarioResult]
    segments_simulated: int
    wall_s: float


# --- candidates ------------------------------------------------------------------------------


def make_candidate(root: Path, version: str, kind: Literal["good", "phantom", "blind"]) -> None:
    """Publish a candidate into the fleet: v1 nudged (good), or a perception that always says
    obstacle (phantom) or never does (blind: it ignores real obstacles)."""
    perception, card = load_policy(bundled_policy("v1"))
    net = perception.net
    with torch.no_grad():
        head = net.head[-1]
        if kind == "good":
            head.bias.add_(1e-4)
        else:
            head.weight.zero_()
            head.bias.fill_(20.0 if kind == "phantom" else -20.0)
    new = PolicyCard(
        version=version,
        parent="v1",
        weights_sha256="",
        command=f"evals.rollout.make_candidate({kind!r})",
        controller=card.controller,
    )
    weights = save_policy(net, new, root / "candidates")
    with FleetStore(root).update() as record:
        record.policies[version] = publish_policy(root, weights)


def promote(candidate: str) -> Verdict:
    return Verdict(
        verdict="promote",
        reasons=["built by the rollout eval (the judge is not under test here)"],
        candidate_version=candidate,
        incumbent_version="v1",
        campaign=[],
        evidence_sha256="0" * 64,
        config=JudgeConfig(),
    )


# --- counting what matters ------------------------------------------------------------------


def strays(ro: Rollout, store: FleetStore, fleet: FleetClient) -> list[str]:
    """Robots running a version the rollout did not approve for them, or reporting a version
    other than the one they run (the fleet's own record is the truth here)."""
    truth = {r: x.policy_version for r, x in store.load().robots.items()}
    reported = {r.robot_id: r.policy_version for r in fleet.robots()}
    out = [f"{r} runs {v}" for r, v in sorted(truth.items()) if v not in allowed_versions(ro, r)]
    out += [f"{r} reports {reported[r]}, runs {v}" for r, v in truth.items() if reported[r] != v]
    return out


class _Run:
    """One eval run's fleet, approvals and rollout deps."""

    def __init__(self, root: Path, url: str, config: RolloutEvalConfig) -> None:
        self.root, self.url, self.config = root, url, config
        self.store = FleetStore(root / "fleet")
        self.fleet = FleetClient(url, timeout_s=5, retries=2)
        self.db = f"sqlite:///{root / 'approvals.db'}"
        self.deps = RolloutDeps(
            fleet=self.fleet,
            approvals=ApprovalService(ApprovalStore(self.db)),
            store=RolloutStore(root / "rollouts"),
            baker=SimulatedFleetBake(self.fleet, workers=config.workers),
            confirm_wait_s=0.05,
        )

    def propose(self, candidate: str) -> Rollout:
        req = ProposeRolloutRequest(
            candidate_version=candidate,
            bake_minutes=[self.config.bake_minutes],
            seed=self.config.seed,
            request_approval=False,
        )
        return start_rollout(propose_plan(req, self.fleet, promote(candidate)), self.deps)

    def approve(self, rollout_id: str) -> str:
        request = request_stage_approval(rollout_id, self.deps)
        self.deps.approvals.decide(request.id, Decision(approve=True, comment="eval"), APPROVER)
        return request.id

    def count(self, ro: Rollout, result: ScenarioResult, step: str) -> None:
        found = strays(self.deps.store.load(ro.rollout_id), self.store, self.fleet)
        result.steps.append(step + (f" [strays: {'; '.join(found)}]" if found else ""))
        result.strays_after_each_step.append(len(found))

    def faults(self, **kwargs: object) -> None:
        save_faults(self.store.root, FleetFaults(**kwargs))

    def bakes(self, ro: Rollout) -> int:
        return len({s for rec in ro.stages for s in rec.bake_shifts})


def _new(name: str, ro: Rollout) -> ScenarioResult:
    return ScenarioResult(
        name=name, rollout_id=ro.rollout_id, status="", stages_passed=0, bakes=0, strays_final=0
    )


def _finish(run: _Run, ro: Rollout, result: ScenarioResult) -> ScenarioResult:
    ro = run.deps.store.load(ro.rollout_id)
    result.status = ro.status
    result.stages_passed = sum(bool(r.gates) and all(g.passed for g in r.gates) for r in ro.stages)
    result.bakes = run.bakes(ro)
    result.strays_final = len(strays(ro, run.store, run.fleet))
    result.failed_gates = [g.gate for rec in ro.stages for g in rec.gates if not g.passed]
    return result


# --- scenarios -------------------------------------------------------------------------------


def bad_canary(run: _Run) -> ScenarioResult:
    """(b) The bad candidate fails its canary gates and everything returns to v1."""
    ro = run.propose("v-bad")
    result = _new("bad candidate", ro)
    ro = run_stage(ro.rollout_id, run.approve(ro.rollout_id), run.deps)
    run.count(ro, result, f"canary stage run: {ro.status}")
    events = {e.event: e.at for e in ro.history}
    if "gates_failed" in events and ro.status == "rolled_back":
        done = max(e.at for e in ro.history if e.event == "rolled_back")
        result.gate_failure_to_incumbent_wall_s = (done - events["gates_failed"]).total_seconds()
        result.gate_failure_to_incumbent_sim_s = 0.0  # no segment ran between the two
        result.canary_exposure_robot_s = (
            len(ro.plan.stages[0].robot_ids) * ro.plan.stages[0].bake_minutes * 60
        )
    return _finish(run, ro, result)


def _sigkilled_stage(run: _Run, ro: Rollout, approval_id: str) -> None:
    """Run the stage in a child process and SIGKILL it once the stage is baking."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "robotops.evals.rollout",
            run.url,
            run.db,
            str(run.deps.store.root),
            ro.rollout_id,
            approval_id,
            str(run.config.workers),
        ]
    )
    try:
        deadline = time.monotonic() + 300
        while run.deps.store.load(ro.rollout_id).status != "baking":
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the child stage ended early (rc {child.returncode})")
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()


def faulted(run: _Run) -> ScenarioResult:
    """(c) The good candidate under every fault the fleet API can throw at a rollout."""
    ro = run.propose("v-good")
    result = _new("faults", ro)
    # stage 0: two 5xx on reads (retried), then the fleet down for the deploy
    approval = run.approve(ro.rollout_id)
    run.faults(
        rules=[
            FaultRule(kind="error", path="/robots", method="GET", times=2),
            FaultRule(kind="error", path="/deploy", times=run.fleet.retries + 1),
        ]
    )
    try:
        ro = run_stage(ro.rollout_id, approval, run.deps)
    except FleetUnavailableError:
        run.count(ro, result, "stage 0: fleet down during deploy -> FleetUnavailableError")
    run.faults()
    ro = reconcile(ro.rollout_id, run.deps)
    run.count(ro, result, f"stage 0 reconciled: {ro.status}")
    if ro.status != "awaiting_approval":
        return _finish(run, ro, result)
    # stage 1: a robot offline (held), back online; the deploy reply lost; SIGKILL mid-bake
    approval = run.approve(ro.rollout_id)
    dropped = ro.stage.robot_ids[0]
    with run.store.update() as record:
        record.robots[dropped].online = False
    ro = run_stage(ro.rollout_id, approval, run.deps)
    run.count(ro, result, f"stage 1 with {dropped} offline: {ro.status}")
    with run.store.update() as record:
        record.robots[dropped].online = True
    run.faults(rules=[FaultRule(kind="lost_reply", path="/deploy", delay_s=6.0)])
    _sigkilled_stage(run, ro, approval)
    run.count(ro, result, "stage 1: orchestrator SIGKILLed while baking")
    run.faults()
    ro = reconcile(ro.rollout_id, run.deps)
    run.count(ro, result, f"stage 1 reconciled after the kill: {ro.status}")
    if ro.status != "awaiting_approval":
        return _finish(run, ro, result)
    # stage 2: a robot reports a version it was not given
    approval = run.approve(ro.rollout_id)
    liar = ro.stage.robot_ids[-1]
    run.faults(wrong_versions={liar: "v-unknown"})
    ro = run_stage(ro.rollout_id, approval, run.deps)
    run.count(ro, result, f"stage 2 with {liar} reporting v-unknown: {ro.status}")
    run.faults()
    ro = reconcile(ro.rollout_id, run.deps)
    run.count(ro, result, f"after the report is fixed, reconcile: {ro.status}")
    return _finish(run, ro, result)


def good_rollout(run: _Run) -> ScenarioResult:
    """(a) The good candidate goes canary -> all, one approval per stage."""
    ro = run.propose("v-good")
    result = _new("good candidate", ro)
    while ro.status == "awaiting_approval":
        stage = ro.current_stage
        ro = run_stage(ro.rollout_id, run.approve(ro.rollout_id), run.deps)
        run.count(ro, result, f"stage {stage}: {ro.status}")
    return _finish(run, ro, result)


def evaluate(config: RolloutEvalConfig) -> RolloutEvalResult:
    """Run (b), (c), (a) on one small simulated fleet; every figure measured here."""
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="rollout-eval-") as tmp:
        root = Path(config.out_dir) if config.out_dir else Path(tmp)
        store = FleetStore(root / "fleet")
        ensure_fleet(store, config.robots, "eval-site")
        make_candidate(store.root, "v-good", "good")
        make_candidate(store.root, "v-bad", config.bad)
        with serve_in_thread(create_fleet_app(store.root)) as url:
            run = _Run(root, url, config)
            run.fleet.advance(
                AdvanceRequest(
                    advance_id="baseline",
                    minutes=config.baseline_minutes,
                    seed=config.seed,
                    workers=config.workers,
                )
            )
            scenarios = [bad_canary(run), faulted(run)]
            if all(s.status in ("rolled_back", "completed") for s in scenarios):
                scenarios.append(good_rollout(run))
            segments = len(run.fleet.shifts())
            run.fleet.close()
    return RolloutEvalResult(
        config=config,
        scenarios=scenarios,
        segments_simulated=segments,
        wall_s=round(time.monotonic() - start, 1),
    )


def _child_stage(argv: list[str]) -> None:
    """Entry of the orchestrator process the faults scenario SIGKILLs mid-bake."""
    url, db, rollouts, rollout_id, approval_id, workers = argv
    fleet = FleetClient(url, timeout_s=5, retries=2)
    deps = RolloutDeps(
        fleet=fleet,
        approvals=ApprovalService(ApprovalStore(db)),
        store=RolloutStore(Path(rollouts)),
        baker=SimulatedFleetBake(fleet, workers=int(workers)),
    )
    run_stage(rollout_id, approval_id, deps)


if __name__ == "__main__":
    _child_stage(sys.argv[1:])
