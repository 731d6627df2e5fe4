"""Run a rollout stage by stage: approval, deploy, confirm, bake, gates, and rollback.

Every step goes through the fleet API client and is saved before and after it runs, so the
record always says what might be in flight. The rules, in code:

- A stage starts only with an approval for action ``rollout_stage`` on exactly the candidate's
  sha256 and that stage's robots, checked here against the approval store (never taken from
  what an agent says). Its deploy carries an idempotency key: ``<rollout>-stage-<k>``.
- A deploy counts only when the robots themselves report the candidate afterwards.
- A failing gate, a robot on a version nobody approved, or an unconfirmable deploy restores
  the incumbent on every robot of the rollout, without approval (it only undoes approved
  changes), files the evidence in the approval audit log and as an incident for triage.
- :func:`reconcile` after a crash reads what the fleet reports and continues the approved
  stage or rolls back; the fleet API being down raises :class:`FleetUnavailableError` with
  the saved state untouched.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from robotops.errors import FleetUnavailableError, InvalidRequestError, NotFoundError
from robotops.memory.approval_models import Actor, ApprovalCreate, ApprovalPublic
from robotops.sim.fleet.models import AdvanceRequest, DeployRequest, Robot, RollbackRequest
from robotops.tools.approvals.service import ApprovalService
from robotops.tools.fleet.client import FleetClient
from robotops.tools.rollout.gates import GateResult, evaluate_gates
from robotops.tools.rollout.models import (
    FINISHED,
    Rollout,
    RolloutIncident,
    RolloutPlan,
    StagePlan,
    StageRecord,
)
from robotops.tools.rollout.store import RolloutStore

STEWARD = "rollout-steward"


class Baker(Protocol):
    """Lets fleet time pass while a stage is live, until its robots have reported enough."""

    def bake(self, rollout: Rollout, stage: StagePlan) -> None: ...


@dataclass
class SimulatedFleetBake:
    """Bake on the SIMULATED fleet: advance it by the stage's bake minutes and wait.

    A real fleet needs no such call (its robots keep working and report as time passes); a
    baker for one would wait out the bake. The advance id is fixed per rollout and stage, so a
    retried or resumed bake never runs a second segment.
    """

    fleet: FleetClient
    workers: int = 0

    def bake(self, rollout: Rollout, stage: StagePlan) -> None:
        self.fleet.advance(
            AdvanceRequest(
                advance_id=f"{rollout.rollout_id}-stage-{stage.index}-bake",
                minutes=stage.bake_minutes,
                seed=rollout.plan.bake_seed + stage.index,
                workers=self.workers,
            )
        )


@dataclass
class RolloutDeps:
    """What a rollout acts through, and who is acting."""

    fleet: FleetClient
    approvals: ApprovalService
    store: RolloutStore
    baker: Baker
    actor: str = STEWARD
    confirm_reads: int = 3
    confirm_wait_s: float = 0.2


# --- starting and asking ---------------------------------------------------------------------


def start_rollout(plan: RolloutPlan, deps: RolloutDeps) -> Rollout:
    """Record a proposed plan; the same plan again returns the rollout already recorded."""
    rollout_id, n = plan.rollout_id, 1
    while deps.store.exists(rollout_id):
        existing = deps.store.load(rollout_id)
        if existing.status not in FINISHED:
            return existing
        n += 1
        rollout_id = f"{plan.rollout_id}-{n}"
    plan = plan.model_copy(update={"rollout_id": rollout_id})
    rollout = Rollout(plan=plan, stages=[StageRecord(index=s.index) for s in plan.stages])
    return deps.store.save(rollout, "proposed", stages=len(plan.stages))


def request_stage_approval(
    rollout_id: str, deps: RolloutDeps, thread_id: str | None = None
) -> ApprovalPublic:
    """Put the current stage in the approval inbox (once: a live request is reused)."""
    ro = deps.store.load(rollout_id)
    if ro.status not in ("awaiting_approval", "held"):
        raise InvalidRequestError(f"rollout {rollout_id} is {ro.status}: no stage to approve")
    rec, stage = ro.stages[ro.current_stage], ro.stage
    if rec.approval_id:
        existing = deps.approvals.store.get(rec.approval_id)
        if existing.status in ("pending", "approved"):
            return existing
    plan = ro.plan
    previous = ro.stages[ro.current_stage - 1].gates if ro.current_stage else []
    request = deps.approvals.request(
        ApprovalCreate(
            action="rollout_stage",
            artifact_sha256=plan.candidate_sha256,
            targets=stage.robot_ids,
            reason=f"rollout {rollout_id} stage {stage.index + 1}/{len(plan.stages)} "
            f"({stage.name}): put {plan.candidate_version} on {', '.join(stage.robot_ids)} "
            f"for {stage.bake_minutes:g} fleet min, gated against {plan.incumbent_version}",
            evidence={
                "rollout_id": rollout_id,
                "stage": stage.model_dump(),
                "candidate": plan.candidate_version,
                "incumbent": plan.incumbent_version,
                "verdict_evidence_sha256": plan.verdict_evidence_sha256,
                "previous_stage_gates": [g.model_dump() for g in previous],
                "rollback_rule": plan.rollback_rule,
            },
            risk="medium" if stage.index == 0 else "high",
            thread_id=thread_id,
        ),
        Actor(name=deps.actor, role="engineer", is_agent=True),
    )
    rec.approval_id = request.id
    deps.store.save(ro, "approval_requested", stage=stage.index, approval_id=request.id)
    return request


# --- one stage ---------------------------------------------------------------------------


def run_stage(rollout_id: str, approval_id: str, deps: RolloutDeps) -> Rollout:
    """Run the current stage under ``approval_id``: deploy, confirm, bake, gate; roll back on
    any failure. Raises ApprovalRequiredError (nothing changed) without a matching approval."""
    ro = deps.store.load(rollout_id)
    if ro.status not in ("awaiting_approval", "held"):
        raise InvalidRequestError(
            f"rollout {rollout_id} is {ro.status}: no stage can start "
            "(after a restart, run reconcile)"
        )
    stage, rec = ro.stage, ro.stages[ro.current_stage]
    approval = deps.approvals.authorize(
        approval_id,
        "rollout_stage",
        ro.plan.candidate_sha256,
        stage.robot_ids,
        idempotency_key=ro.plan.deployment_id(stage.index),
        actor=deps.actor,
    )
    rec.approval_id, rec.approved_by = approval_id, approval.decided_by
    deps.store.save(ro, "stage_authorized", stage=stage.index, approved_by=approval.decided_by)
    robots = _robots(deps)
    wrong = _unexpected(ro, robots)
    if wrong:
        return rollback(ro.rollout_id, deps, f"before stage {stage.index}: {'; '.join(wrong)}")
    missing = [r for r in stage.robot_ids if r not in robots]
    if missing:
        return _hold(ro, deps, f"robots not listed by the fleet: {', '.join(missing)}")
    offline = [r for r in stage.robot_ids if not robots[r].online]
    if offline:
        return _hold(ro, deps, f"robots offline: {', '.join(offline)}")
    return _deploy(ro, deps)


def _hold(ro: Rollout, deps: RolloutDeps, why: str) -> Rollout:
    ro.status, ro.reason = "held", f"stage {ro.current_stage} held, nothing changed: {why}"
    ro.stages[ro.current_stage].status = "pending"
    return deps.store.save(ro, "held", why=why)


def _deploy(ro: Rollout, deps: RolloutDeps) -> Rollout:
    stage, rec = ro.stage, ro.stages[ro.current_stage]
    rec.deployment_id = ro.plan.deployment_id(stage.index)
    rec.status = ro.status = "deploying"
    deps.store.save(ro, "deploying", stage=stage.index, deployment_id=rec.deployment_id)
    try:
        deps.fleet.deploy(
            DeployRequest(
                policy_version=ro.plan.candidate_version,
                robot_ids=stage.robot_ids,
                deployment_id=rec.deployment_id,
            )
        )
    except (InvalidRequestError, NotFoundError) as exc:  # refused (robot offline): unchanged
        return _hold(ro, deps, str(exc))
    return _confirm_and_bake(ro, deps)


def _confirm_and_bake(ro: Rollout, deps: RolloutDeps) -> Rollout:
    stage, rec = ro.stage, ro.stages[ro.current_stage]
    problems = _confirm(deps, stage.robot_ids, ro.plan.candidate_version)
    if problems:
        return rollback(
            ro.rollout_id,
            deps,
            f"stage {stage.index} deploy not confirmed: {'; '.join(problems)}",
            _ro=ro,
        )
    shifts = deps.fleet.shifts()
    rec.since_shift = shifts[-1].shift_id if shifts else None
    rec.status = ro.status = "baking"
    deps.store.save(ro, "baking", stage=stage.index, since_shift=rec.since_shift)
    return _bake_and_gate(ro, deps)


def _bake_and_gate(ro: Rollout, deps: RolloutDeps) -> Rollout:
    stage, rec, plan = ro.stage, ro.stages[ro.current_stage], ro.plan
    deps.baker.bake(ro, stage)
    rows = deps.fleet.metrics(since_shift=rec.since_shift)
    live = {r for s in plan.stages[: stage.index + 1] for r in s.robot_ids}
    rec.bake_shifts = list(dict.fromkeys(m.shift_id for m in rows))
    strays = [
        f"{m.robot_id} ran {m.policy_version} in {m.shift_id}"
        for m in rows
        if (m.robot_id in live) != (m.policy_version == plan.candidate_version)
    ]
    if strays:
        return rollback(
            ro.rollout_id, deps, f"stage {stage.index} bake: {'; '.join(strays)}", _ro=ro
        )
    rec.gates = evaluate_gates(plan.gates, plan.baseline, [m for m in rows if m.robot_id in live])
    failed = [g for g in rec.gates if not g.passed]
    if failed:
        rec.status = "failed"
        deps.store.save(ro, "gates_failed", stage=stage.index, gates=[g.gate for g in failed])
        why = "; ".join(f"{g.gate}: {g.detail}" for g in failed)
        return rollback(ro.rollout_id, deps, f"stage {stage.index} gates failed: {why}", failed, ro)
    rec.status = "passed"
    if stage.index == len(plan.stages) - 1:
        ro.status, ro.reason = "completed", f"{plan.candidate_version} is on every planned robot"
    else:
        ro.status, ro.reason = "awaiting_approval", ""
        ro.current_stage += 1
    return deps.store.save(ro, "stage_passed", stage=stage.index)


# --- rollback ----------------------------------------------------------------------------


def rollback(
    rollout_id: str,
    deps: RolloutDeps,
    reason: str,
    failed: list[GateResult] | None = None,
    _ro: Rollout | None = None,
) -> Rollout:
    """Restore the incumbent on every robot the rollout touched; needs no approval.

    Robots that cannot be restored now (offline, refusing) are left in ``pending_robots`` with
    status ``rollback_incomplete``; :func:`reconcile` retries them.
    """
    ro = _ro or deps.store.load(rollout_id)
    if ro.status == "rolled_back":
        return ro
    first = ro.status != "rollback_incomplete"
    ro.status, ro.reason = "rolling_back", reason
    deps.store.save(ro, "rolling_back", reason=reason)
    notes = _restore(ro, deps)
    ro.pending_robots = _confirm(deps, ro.plan.robot_ids, ro.plan.incumbent_version)
    for rec in ro.stages:
        if rec.deployment_id is not None and rec.status != "failed":
            rec.status = "rolled_back"
    ro.status = "rollback_incomplete" if ro.pending_robots else "rolled_back"
    deps.store.save(ro, ro.status, pending=ro.pending_robots, notes=notes)
    if first:
        _file_evidence(ro, deps, reason, failed or [])
    return ro


def _restore(ro: Rollout, deps: RolloutDeps) -> list[str]:
    """Roll back each deployed stage, newest first, on the robots that can take it now."""
    notes = []
    robots = _robots(deps)
    for k in ro.deployed_stages():
        dep_id = ro.stages[k].deployment_id
        assert dep_id is not None
        todo = [
            r
            for r in ro.plan.stages[k].robot_ids
            if r in robots
            and robots[r].online
            and robots[r].policy_version != ro.plan.incumbent_version
        ]
        if not todo:
            continue
        try:
            deps.fleet.rollback(RollbackRequest(deployment_id=dep_id, robot_ids=todo))
        except NotFoundError:
            notes.append(f"{dep_id} never reached the fleet")
        except InvalidRequestError as exc:
            notes.append(f"{dep_id}: {exc}")
    return notes + _restore_strays(ro, deps)


def _restore_strays(ro: Rollout, deps: RolloutDeps) -> list[str]:
    """Put the incumbent back on plan robots no stage rollback covers (changed by hand)."""
    robots = _robots(deps)
    incumbent = ro.plan.incumbent_version
    strays = [
        r
        for r in ro.plan.robot_ids
        if r in robots and robots[r].online and robots[r].policy_version != incumbent
    ]
    notes = []
    for r in strays:
        try:
            deps.fleet.deploy(
                DeployRequest(
                    policy_version=incumbent,
                    robot_ids=[r],
                    deployment_id=f"{ro.rollout_id}-restore-{r}-{len(ro.history)}",
                )
            )
        except (InvalidRequestError, NotFoundError) as exc:
            notes.append(f"restoring {incumbent} on {r}: {exc}")
    return notes


def abort(rollout_id: str, deps: RolloutDeps, by: str, reason: str = "") -> Rollout:
    """A person stops the rollout: the incumbent is restored wherever the candidate went."""
    why = f"aborted by {by}" + (f": {reason}" if reason else "")
    return rollback(rollout_id, deps, why)


def _file_evidence(ro: Rollout, deps: RolloutDeps, reason: str, failed: list[GateResult]) -> None:
    """Put the rollback in the inbox's audit log and file an incident for triage."""
    rec = ro.stages[ro.current_stage]
    live = [r for s in ro.plan.stages[: ro.current_stage + 1] for r in s.robot_ids]
    detail = {
        "rollout_id": ro.rollout_id,
        "candidate": ro.plan.candidate_version,
        "incumbent": ro.plan.incumbent_version,
        "stage": ro.current_stage,
        "robots": live,
        "reason": reason,
        "failed_gates": [g.model_dump() for g in failed],
        "pending_robots": ro.pending_robots,
        "bake_shifts": rec.bake_shifts,
    }
    with deps.approvals.store.transaction() as s:
        deps.approvals.store.audit(s, deps.actor, "rollout_rolled_back", rec.approval_id, detail)
    deps.store.add_incident(
        RolloutIncident(
            incident_id=f"{ro.rollout_id}-rollback",
            rollout_id=ro.rollout_id,
            at=datetime.now(UTC),
            candidate_version=ro.plan.candidate_version,
            candidate_sha256=ro.plan.candidate_sha256,
            incumbent_version=ro.plan.incumbent_version,
            stage=ro.current_stage,
            robot_ids=live,
            shifts=rec.bake_shifts,
            reason=reason,
            failed_gates=failed,
        )
    )


# --- after a restart ------------------------------------------------------------------------


def reconcile(rollout_id: str, deps: RolloutDeps, resume: bool = True) -> Rollout:
    """Compare the saved state with what the fleet reports; continue the approved stage
    (``resume``) or restore the incumbent. Nothing is left on a version nobody approved."""
    ro = deps.store.load(rollout_id)
    if ro.status in ("rolling_back", "rollback_incomplete"):
        return rollback(rollout_id, deps, ro.reason or "finishing an interrupted rollback", _ro=ro)
    robots = _robots(deps)
    wrong = _unexpected(ro, robots)
    if wrong:
        return rollback(rollout_id, deps, f"found after restart: {'; '.join(wrong)}", _ro=ro)
    deps.store.save(ro, "reconciled", status=ro.status, resume=resume)
    if not resume or ro.status not in ("deploying", "baking"):
        return ro
    if ro.status == "baking":
        return _bake_and_gate(ro, deps)
    on_candidate = [
        r
        for r in ro.stage.robot_ids
        if r in robots and robots[r].policy_version == ro.plan.candidate_version
    ]
    if not on_candidate:
        return _deploy(ro, deps)  # the deploy never landed: send it again, same id
    return _confirm_and_bake(ro, deps)


# --- reading the fleet ---------------------------------------------------------------------


def _robots(deps: RolloutDeps) -> dict[str, Robot]:
    return {r.robot_id: r for r in deps.fleet.robots()}


def allowed_versions(ro: Rollout, robot_id: str) -> set[str]:
    """Versions a robot may run now: the incumbent, and the candidate if approved and sent."""
    allowed = {ro.plan.incumbent_version}
    for rec, stage in zip(ro.stages, ro.plan.stages, strict=True):
        if robot_id in stage.robot_ids and rec.approved_by and rec.deployment_id:
            allowed.add(ro.plan.candidate_version)
    return allowed


def _unexpected(ro: Rollout, robots: dict[str, Robot]) -> list[str]:
    """Robots of the plan reporting a version the rollout did not approve for them."""
    return [
        f"robot {r} reports {robots[r].policy_version}, approved: "
        f"{', '.join(sorted(allowed_versions(ro, r)))}"
        for r in ro.plan.robot_ids
        if r in robots and robots[r].policy_version not in allowed_versions(ro, r)
    ]


def _confirm(deps: RolloutDeps, robot_ids: list[str], version: str) -> list[str]:
    """Robots that do not (yet) report ``version``: read a few times before giving up."""
    problems: list[str] = []
    for attempt in range(deps.confirm_reads):
        if attempt:
            time.sleep(deps.confirm_wait_s)
        try:
            robots = _robots(deps)
        except FleetUnavailableError as exc:
            problems = [f"fleet unavailable: {exc}"]
            continue
        problems = [p for r in robot_ids if (p := _not_on(robots, r, version))]
        if not problems:
            return []
    return problems


def _not_on(robots: dict[str, Robot], robot_id: str, version: str) -> str:
    """Why ``robot_id`` is not confirmed on ``version`` ("" when it is): a robot the fleet no
    longer lists is unconfirmed, never taken as done."""
    robot = robots.get(robot_id)
    if robot is None:
        return f"{robot_id} is not listed by the fleet"
    if not robot.online:
        return f"{robot_id} is offline"
    return "" if robot.policy_version == version else f"{robot_id} reports {robot.policy_version}"
