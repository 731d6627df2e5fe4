"""Staged rollouts over a real fleet API: approvals per stage, gates, rollback, faults, crashes.

The fleet is the simulated fleet's HTTP service on a free local port; what the robots report
during a bake is written into the fleet directory by a scripted baker (the edge we fake: the
robots themselves), so the tests are about the rollout logic, not about rendering. One test in
tests/sim/test_fleet_rollout_api.py runs a real simulated bake.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from rollout_verdict import verdict

from robotops.errors import FleetUnavailableError, InvalidRequestError
from robotops.memory.approval_models import Actor, ApprovalCreate, Decision
from robotops.memory.approvals import ApprovalStore
from robotops.sim.fleet.faults import FaultRule, FleetFaults, save_faults
from robotops.sim.fleet.models import Incident, RobotShiftMetrics
from robotops.sim.fleet.robot_metrics import write_shift_metrics
from robotops.sim.fleet.serve import serve_in_thread
from robotops.sim.fleet.service import create_fleet_app
from robotops.sim.fleet.state import FleetRecord, FleetStore, PolicyRecord, RobotRecord, ShiftRecord
from robotops.tools.approvals.errors import ApprovalRequiredError, ForbiddenDecisionError
from robotops.tools.approvals.service import ApprovalService
from robotops.tools.fleet.client import FleetClient
from robotops.tools.rollout.executor import (
    RolloutDeps,
    abort,
    reconcile,
    request_stage_approval,
    run_stage,
    start_rollout,
)
from robotops.tools.rollout.gates import GateSpec, baseline_from, evaluate_gates
from robotops.tools.rollout.models import Rollout, StagePlan, rollout_view
from robotops.tools.rollout.plan import ProposeRolloutRequest, propose_plan
from robotops.tools.rollout.store import RolloutStore

SHA = {"v1": "1" * 64, "v2": "2" * 64, "v9": "9" * 64}
ZONES = {"101": "aisle-1", "102": "aisle-2", "103": "aisle-3", "104": "aisle-1"}
RAJ = Actor(name="raj", role="approver")
# what a robot reports per simulated minute on each version (the incumbent stalls a lot)
GOOD = {"stalls": 4, "stall_time_s": 30.0, "phantom_stops": 4, "distance_m": 30.0}
PROFILES = {"v1": GOOD, "v2": GOOD}


def report_shift(store: FleetStore, profiles: dict[str, dict], minutes: float = 0.5) -> str:
    """Append a shift in which every robot reports per its current version's profile."""
    with store.update() as rec:
        shift_id = f"shift-{len(rec.shifts) + 1:03d}"
        rec.shifts.append(
            ShiftRecord(
                shift_id=shift_id,
                start_ns=len(rec.shifts) * 10**12,
                duration_s=minutes * 60,
                seed=0,
                hazards=[],
            )
        )
        versions = {r: robot.policy_version for r, robot in rec.robots.items()}
    rows = []
    for robot_id, version in sorted(versions.items()):
        profile = profiles[version]
        scaled = {
            k: (round(v * minutes) if isinstance(v, int) else v * minutes)
            for k, v in profile.items()
        }
        rows.append(
            RobotShiftMetrics(
                shift_id=shift_id,
                robot_id=robot_id,
                zone=ZONES[robot_id],
                policy_version=version,
                hours=minutes / 60,
                **scaled,
            )
        )
    write_shift_metrics(store.root, shift_id, rows)
    return shift_id


@dataclass
class ScriptedBake:
    """The robots' side of a bake, scripted: one reported shift per bake."""

    store: FleetStore
    profiles: dict[str, dict]
    bakes: int = 0

    def bake(self, rollout: Rollout, stage: StagePlan) -> None:
        self.bakes += 1
        report_shift(self.store, self.profiles, stage.bake_minutes)


@dataclass
class Rig:
    store: FleetStore
    url: str
    deps: RolloutDeps
    baker: ScriptedBake
    tmp: Path

    def versions(self) -> dict[str, str]:
        return {r: x.policy_version for r, x in self.store.load().robots.items()}

    def faults(self, **kwargs: object) -> None:
        save_faults(self.store.root, FleetFaults(**kwargs))

    def approve(self, rollout_id: str) -> str:
        request = request_stage_approval(rollout_id, self.deps)
        self.deps.approvals.decide(request.id, Decision(approve=True), RAJ)
        return request.id


def make_fleet(root: Path) -> FleetStore:
    store = FleetStore(root)
    store.save(
        FleetRecord(
            robots={
                r: RobotRecord(robot_id=r, zone=z, policy_version="v1") for r, z in ZONES.items()
            },
            policies={v: PolicyRecord(version=v, sha256=s, path=f"{v}.pt") for v, s in SHA.items()},
        )
    )
    store.add_incidents(
        [
            Incident(
                incident_id=f"i{n}",
                robot_id=robot,
                kind="stall",
                time_ns=n,
                zone=ZONES[robot],
                log_name="x.mcap",
                policy_version="v1",
            )
            for n, robot in enumerate(["102", "103", "103", "104"])
        ]
    )
    report_shift(store, PROFILES)
    return store


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    store = make_fleet(tmp_path / "fleet")
    baker = ScriptedBake(store, dict(PROFILES))
    with (
        serve_in_thread(create_fleet_app(store.root)) as url,
        FleetClient(url, timeout_s=1.0, retries=2) as fleet,
    ):
        deps = RolloutDeps(
            fleet=fleet,
            approvals=ApprovalService(ApprovalStore(f"sqlite:///{tmp_path / 'approvals.db'}")),
            store=RolloutStore(tmp_path / "rollouts"),
            baker=baker,
            confirm_reads=2,
            confirm_wait_s=0.01,
        )
        yield Rig(store, url, deps, baker, tmp_path)


def started(rig: Rig, **kwargs: object) -> Rollout:
    req = ProposeRolloutRequest(candidate_version="v2", bake_minutes=[0.5], **kwargs)
    return start_rollout(propose_plan(req, rig.deps.fleet, verdict()), rig.deps)


# --- plan ----------------------------------------------------------------------------------


def test_plan_puts_canaries_in_the_lowest_risk_zone_then_a_share_then_all(rig: Rig) -> None:
    rig.store.add_incidents(  # incidents of another version say nothing about aisle-1
        [
            Incident(
                incident_id=f"c{n}",
                robot_id="101",
                kind="collision",
                time_ns=n,
                zone="aisle-1",
                log_name="x.mcap",
                policy_version="v9",
            )
            for n in range(3)
        ]
    )
    plan = started(rig).plan
    assert [s.robot_ids for s in plan.stages] == [["101"], ["104"], ["102", "103"]]
    assert [s.name for s in plan.stages] == ["canary", "50%", "all"]
    assert plan.stages[0].zones == ["aisle-1"]
    assert (plan.candidate_sha256, plan.incumbent_sha256) == (SHA["v2"], SHA["v1"])
    assert plan.baseline.fleet.hours == pytest.approx(4 * 0.5 / 60)
    assert plan.baseline.robots["101"].stalls == 2
    again = propose_plan(
        ProposeRolloutRequest(candidate_version="v2", bake_minutes=[0.5]), rig.deps.fleet, verdict()
    )
    assert again.rollout_id == plan.rollout_id  # same inputs, same plan


def test_only_a_promote_verdict_can_be_planned(rig: Rig) -> None:
    req = ProposeRolloutRequest(candidate_version="v2")
    with pytest.raises(InvalidRequestError, match="verdict is 'reject', only 'promote'"):
        propose_plan(req, rig.deps.fleet, verdict("reject"))
    with pytest.raises(InvalidRequestError, match="about v9, not v2"):
        propose_plan(req, rig.deps.fleet, verdict(candidate="v9"))


def test_plan_leaves_offline_robots_out_and_needs_a_baseline(rig: Rig) -> None:
    with rig.store.update() as rec:
        rec.robots["102"].online = False
    plan = started(rig).plan
    assert plan.left_out == {"102": "offline"}
    assert "102" not in plan.robot_ids
    with rig.store.update() as rec:
        rec.shifts = []
    with pytest.raises(InvalidRequestError, match="no baseline: the fleet has no reports of v1"):
        propose_plan(ProposeRolloutRequest(candidate_version="v2"), rig.deps.fleet, verdict())


# --- gates ---------------------------------------------------------------------------------


def _row(robot: str, version: str, hours: float = 0.01, **counts: float) -> RobotShiftMetrics:
    return RobotShiftMetrics(
        shift_id="s", robot_id=robot, zone="z", policy_version=version, hours=hours, **counts
    )


def test_gates_compare_against_each_robots_own_history_with_noise_allowance() -> None:
    base = baseline_from(
        [
            _row("101", "v1", 0.1, stalls=10, distance_m=100.0),
            _row("102", "v1", 0.1, stalls=0, distance_m=100.0),
            _row("102", "v2", 0.1, stalls=50),  # another version: not in the baseline
        ],
        "v1",
    )
    spec = GateSpec()
    # 101 expects 1 stall in 0.01 h: limit 1.5 + 2 = 3.5
    ok = evaluate_gates(spec, base, [_row("101", "v2", stalls=3, distance_m=10.0)])
    assert all(g.passed for g in ok), ok
    bad = {g.gate: g for g in evaluate_gates(spec, base, [_row("101", "v2", stalls=4)])}
    assert not bad["stall_rate"].passed and bad["stall_rate"].limit == 3.5
    assert not bad["mission_progress"].passed  # 0 m driven of the 10 expected
    assert (bad["mission_progress"].expected, bad["mission_progress"].limit) == (10.0, 5.0)
    short = {g.gate: g for g in evaluate_gates(spec, base, [_row("101", "v2", distance_m=4.9)])}
    assert not short["mission_progress"].passed  # missions are not counted: distance alone
    crash = {g.gate: g for g in evaluate_gates(spec, base, [_row("102", "v2", collisions=1)])}
    assert not crash["collisions"].passed and crash["collisions"].limit == 0
    (nothing,) = evaluate_gates(spec, base, [])
    assert (nothing.gate, nothing.passed) == ("reports", False)


# --- stages and approvals ------------------------------------------------------------------


def test_a_stage_needs_an_approval_for_exactly_its_hash_and_robots(rig: Rig) -> None:
    ro = started(rig)
    steward = Actor(name="rollout-steward", role="engineer", is_agent=True)

    def ask(sha: str, robots: list[str]) -> str:
        request = rig.deps.approvals.request(
            ApprovalCreate(action="rollout_stage", artifact_sha256=sha, targets=robots, reason="x"),
            steward,
        )
        rig.deps.approvals.decide(request.id, Decision(approve=True), RAJ)
        return request.id

    pending = request_stage_approval(ro.rollout_id, rig.deps).id
    with pytest.raises(ForbiddenDecisionError, match="agents never decide"):
        rig.deps.approvals.decide(pending, Decision(approve=True), steward.model_copy())
    for approval_id, why in (
        (pending, "is pending"),
        (ask(SHA["v9"], ["101"]), "artifact 999999999999"),
        (ask(SHA["v2"], ["102"]), "does not cover 101"),
        ("apr-made-up", "no such approval"),
    ):
        with pytest.raises(ApprovalRequiredError, match=why):
            run_stage(ro.rollout_id, approval_id, rig.deps)
    assert set(rig.versions().values()) == {"v1"}
    assert rig.store.load().deployments == {}


def test_a_good_candidate_goes_canary_to_all_with_an_approval_per_stage(rig: Rig) -> None:
    ro = started(rig)
    for stage in range(3):
        assert rollout_view(ro).waiting_for.startswith(("the steward", "an approver"))
        ro = run_stage(ro.rollout_id, rig.approve(ro.rollout_id), rig.deps)
        assert all(g.passed for g in ro.stages[stage].gates)
    assert ro.status == "completed"
    assert set(rig.versions().values()) == {"v2"}
    assert sorted(rig.store.load().deployments) == [f"{ro.rollout_id}-stage-{k}" for k in range(3)]
    saved = rig.deps.store.load(ro.rollout_id)
    assert [e.event for e in saved.history].count("stage_passed") == 3
    assert rollout_view(saved).live == dict.fromkeys(ZONES, "v2")


def test_a_failing_gate_rolls_everything_back_and_files_the_evidence(rig: Rig) -> None:
    rig.baker.profiles["v2"] = {**GOOD, "collisions": 2}
    ro = started(rig)
    ro = run_stage(ro.rollout_id, rig.approve(ro.rollout_id), rig.deps)
    assert ro.status == "rolled_back"
    assert set(rig.versions().values()) == {"v1"}
    failed = [g.gate for g in ro.stages[0].gates if not g.passed]
    assert failed == ["collisions"]
    (incident,) = rig.deps.store.incidents()
    assert (incident.rollout_id, incident.robot_ids, incident.stage) == (ro.rollout_id, ["101"], 0)
    assert incident.failed_gates[0].gate == "collisions"
    audit = [e for e in rig.deps.approvals.store.audit_log() if e.event == "rollout_rolled_back"]
    assert audit and audit[0].detail["rollout_id"] == ro.rollout_id
    with pytest.raises(InvalidRequestError, match="rolled_back"):
        run_stage(ro.rollout_id, ro.stages[0].approval_id or "", rig.deps)


def test_a_person_can_abort_and_the_incumbent_comes_back(rig: Rig) -> None:
    ro = started(rig)
    ro = run_stage(ro.rollout_id, rig.approve(ro.rollout_id), rig.deps)
    assert rig.versions()["101"] == "v2"
    ro = abort(ro.rollout_id, rig.deps, by="maya", reason="demo tomorrow")
    assert (ro.status, ro.reason) == ("rolled_back", "aborted by maya: demo tomorrow")
    assert set(rig.versions().values()) == {"v1"}


# --- faults --------------------------------------------------------------------------------


def test_fleet_down_raises_clearly_keeps_state_and_reconcile_resumes(rig: Rig) -> None:
    ro = started(rig)
    approval = rig.approve(ro.rollout_id)
    rig.faults(rules=[FaultRule(kind="error", path="/deploy", times=10)])
    with pytest.raises(FleetUnavailableError, match="/deploy unavailable after 3 attempt"):
        run_stage(ro.rollout_id, approval, rig.deps)
    saved = rig.deps.store.load(ro.rollout_id)
    assert saved.status == "deploying" and set(rig.versions().values()) == {"v1"}
    rig.faults()
    ro = reconcile(ro.rollout_id, rig.deps)
    assert (ro.status, ro.current_stage) == ("awaiting_approval", 1)
    assert rig.versions()["101"] == "v2"


def test_a_lost_deploy_reply_is_retried_under_the_same_deployment_id(rig: Rig) -> None:
    ro = started(rig)
    rig.faults(rules=[FaultRule(kind="lost_reply", path="/deploy", delay_s=1.5)])
    ro = run_stage(ro.rollout_id, rig.approve(ro.rollout_id), rig.deps)
    assert ro.status == "awaiting_approval"
    assert list(rig.store.load().deployments) == [f"{ro.rollout_id}-stage-0"]


def test_an_offline_robot_holds_the_stage_without_changing_anything(rig: Rig) -> None:
    ro = started(rig)
    approval = rig.approve(ro.rollout_id)
    with rig.store.update() as rec:
        rec.robots["101"].online = False
    ro = run_stage(ro.rollout_id, approval, rig.deps)
    assert ro.status == "held" and "101" in rollout_view(ro).waiting_for
    assert set(rig.versions().values()) == {"v1"}
    with rig.store.update() as rec:
        canary = rec.robots.pop("101")  # the fleet stops listing it: held too, not a KeyError
    ro = run_stage(ro.rollout_id, approval, rig.deps)
    assert ro.status == "held" and "not listed by the fleet: 101" in ro.reason
    with rig.store.update() as rec:
        rec.robots["101"] = canary.model_copy(update={"online": True})
    assert run_stage(ro.rollout_id, approval, rig.deps).status == "awaiting_approval"


def test_a_robot_reporting_the_wrong_version_is_rolled_back_and_left_flagged(rig: Rig) -> None:
    ro = started(rig)
    rig.faults(wrong_versions={"101": "v9"})
    ro = run_stage(ro.rollout_id, rig.approve(ro.rollout_id), rig.deps)
    assert ro.status == "rollback_incomplete"
    assert ro.pending_robots == ["101 reports v9"]
    assert "101 reports v9" in ro.reason and rig.versions()["101"] == "v1"
    assert rollout_view(ro).live["101"].startswith("unconfirmed")
    rig.faults()
    assert reconcile(ro.rollout_id, rig.deps).status == "rolled_back"


def test_after_sigkill_mid_bake_reconcile_continues_the_approved_stage(rig: Rig) -> None:
    ro = started(rig)
    approval = rig.approve(ro.rollout_id)
    rig.faults(rules=[FaultRule(kind="timeout", path="/sim/advance", delay_s=4)])
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from robotops.memory.approvals import ApprovalStore
        from robotops.tools.approvals.service import ApprovalService
        from robotops.tools.fleet.client import FleetClient
        from robotops.tools.rollout.executor import RolloutDeps, SimulatedFleetBake, run_stage
        from robotops.tools.rollout.store import RolloutStore
        fleet = FleetClient({rig.url!r}, timeout_s=60, retries=0)
        deps = RolloutDeps(
            fleet=fleet,
            approvals=ApprovalService(ApprovalStore("sqlite:///{rig.tmp / "approvals.db"}")),
            store=RolloutStore(Path({str(rig.tmp / "rollouts")!r})),
            baker=SimulatedFleetBake(fleet),
        )
        run_stage({ro.rollout_id!r}, {approval!r}, deps)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60
        while rig.deps.store.load(ro.rollout_id).status != "baking":
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert rig.versions()["101"] == "v2"  # live on the canary, approved, orchestrator gone
    assert reconcile(ro.rollout_id, rig.deps, resume=False).status == "baking"
    ro = reconcile(ro.rollout_id, rig.deps)
    assert (ro.status, ro.current_stage, rig.baker.bakes) == ("awaiting_approval", 1, 1)


def test_reconcile_rolls_back_a_robot_on_a_version_nobody_approved(rig: Rig) -> None:
    ro = started(rig)
    ro = run_stage(ro.rollout_id, rig.approve(ro.rollout_id), rig.deps)
    with rig.store.update() as rec:  # someone put stage 2's robot on the candidate by hand
        rec.robots["104"].policy_version = "v2"
    ro = reconcile(ro.rollout_id, rig.deps)
    assert ro.status == "rolled_back"
    assert "robot 104 reports v2, approved: v1" in ro.reason
    assert set(rig.versions().values()) == {"v1"}


# --- CLI -----------------------------------------------------------------------------------


def test_cli_plans_shows_refuses_without_approval_and_aborts(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    from robotops.cli import app
    from robotops.settings import get_settings

    monkeypatch.setenv("ROBOTOPS_FLEET__URL", rig.url)
    get_settings.cache_clear()
    judged = get_settings().data_dir / "judge" / "j1" / "verdict.json"
    judged.parent.mkdir(parents=True)
    judged.write_text(verdict().model_dump_json())
    runner = CliRunner()
    for bad, why in (
        (["--bake", "0.5,soon"], "comma list of minutes"),
        (["--canary", "0"], "bad option: canary_robots"),
    ):
        refused = runner.invoke(app, ["rollout", "plan", "v2", *bad])
        assert refused.exit_code == 2 and why in refused.output, refused.output
    planned = runner.invoke(app, ["rollout", "plan", "v2", "--bake", "0.5", "--json"])
    assert planned.exit_code == 0, planned.output
    plan = json.loads(planned.stdout)
    assert [s["robot_ids"] for s in plan["stages"]][0] == ["101"]
    assert plan["approval_id"].startswith("apr-")
    status = json.loads(runner.invoke(app, ["rollout", "status", "--json"]).stdout)
    (view,) = status["rollouts"]
    assert view["waiting_for"] == (
        f"an approver's decision on {plan['approval_id']} (stage 0: 101)"
    )
    refused = runner.invoke(
        app, ["rollout", "start", plan["rollout_id"], "--approval", plan["approval_id"]]
    )
    assert refused.exit_code == 2 and "is pending" in refused.output
    aborted = runner.invoke(
        app, ["rollout", "abort", plan["rollout_id"], "--reason", "wrong week", "--by", "maya"]
    )
    assert aborted.exit_code == 0, aborted.output
    final = json.loads(runner.invoke(app, ["rollout", "status", "--json"]).stdout)
    assert final["rollouts"][0]["status"] == "rolled_back"
    assert set(rig.versions().values()) == {"v1"}


def test_eval_rolls_back_the_bad_candidate_and_leaves_no_stray_robot(tmp_path: Path) -> None:
    from robotops.evals.rollout import RolloutEvalConfig, evaluate

    result = evaluate(
        RolloutEvalConfig(robots=3, baseline_minutes=0.25, bake_minutes=0.2, workers=1)
    )
    bad, faults, *_ = result.scenarios
    assert bad.status == "rolled_back" and bad.failed_gates, bad
    assert bad.gate_failure_to_incumbent_sim_s == 0.0
    assert faults.status in ("rolled_back", "completed"), faults
    assert faults.steps[0] == "stage 0: fleet down during deploy -> FleetUnavailableError"
    assert [s.strays_final for s in result.scenarios] == [0] * len(result.scenarios)
