"""Propose a staged rollout from the judge's verdict: canaries in low-risk zones, then a
larger share, then everyone; gates against the incumbent's baseline; the rollback rule.

Only a ``promote`` verdict can be planned. Planning reads the fleet (robots, incidents, the
incumbent's reports) and changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from pathlib import Path

from pydantic import BaseModel, Field, PositiveFloat

from robotops.errors import InvalidRequestError, NotFoundError
from robotops.sim.fleet.models import Robot
from robotops.tools.fleet.client import FleetClient
from robotops.tools.judge.models import Verdict
from robotops.tools.rollout.gates import GateSpec, baseline_from
from robotops.tools.rollout.models import RolloutPlan, StagePlan


class ProposeRolloutRequest(BaseModel):
    """Plan a staged rollout of ``candidate_version``, which the judge must have promoted."""

    candidate_version: str = Field(min_length=1)
    verdict: Verdict | None = Field(
        None, description="the judge's verdict; default: the newest stored one for the candidate"
    )
    canary_robots: int = Field(1, ge=1)
    share: float = Field(0.5, gt=0, lt=1, description="fraction of robots on it after stage 2")
    bake_minutes: list[PositiveFloat] = Field(
        default_factory=lambda: [0.5, 0.5, 0.5],
        min_length=1,
        description="simulated minutes of bake per stage (the last value repeats)",
    )
    gates: GateSpec = Field(default_factory=GateSpec)
    baseline_shifts: int = Field(10, ge=1, description="recent incumbent shifts in the baseline")
    seed: int = Field(0, description="seed of the simulated bake segments")
    request_approval: bool = Field(
        True, description="also file the first stage's approval request in the inbox"
    )


def stored_verdict(data_dir: Path, candidate_version: str) -> Verdict:
    """The newest verdict the judge wrote for this candidate (``DATA_DIR/judge/*/verdict.json``)."""
    found = []
    for path in (Path(data_dir) / "judge").glob("*/verdict.json"):
        verdict = Verdict.model_validate_json(path.read_text())
        if verdict.candidate_version == candidate_version:
            found.append((path.stat().st_mtime_ns, str(path), verdict))
    if not found:
        raise NotFoundError("judge verdict for candidate", candidate_version)
    return max(found, key=lambda f: (f[0], f[1]))[2]


def check_verdict(verdict: Verdict, candidate_version: str) -> None:
    """Refuse anything but a promote verdict for exactly this candidate."""
    if verdict.candidate_version != candidate_version:
        raise InvalidRequestError(
            f"the verdict is about {verdict.candidate_version}, not {candidate_version}"
        )
    if verdict.verdict != "promote":
        why = "; ".join(verdict.reasons) or "no reasons given"
        raise InvalidRequestError(
            f"no rollout of {candidate_version}: the judge's verdict is {verdict.verdict!r}, "
            f"only 'promote' can be rolled out ({why})"
        )


def zone_risk(robots: list[Robot], incident_zones: list[str]) -> dict[str, float]:
    """Incidents per robot in each zone (on the incumbent: a rolled-back candidate's incidents
    say nothing about the zone): the canaries go where the fleet has hurt least."""
    per_zone = Counter(r.zone for r in robots)
    counts = Counter(incident_zones)
    return {zone: counts[zone] / n for zone, n in per_zone.items()}


def order_by_risk(robots: list[Robot], risk: dict[str, float], own: Counter) -> list[Robot]:
    """Robots from lowest-risk zone first (fewest own incidents next): canaries come first."""
    return sorted(robots, key=lambda r: (risk[r.zone], own[r.robot_id], r.robot_id))


def _stages(ordered: list[Robot], req: ProposeRolloutRequest) -> list[StagePlan]:
    n = len(ordered)
    cuts = [min(req.canary_robots, n), max(math.ceil(req.share * n), req.canary_robots), n]
    names = ["canary", f"{round(req.share * 100)}%", "all"]
    stages, start = [], 0
    for name, cut in zip(names, cuts, strict=True):
        cut = min(cut, n)
        if cut <= start:
            continue
        group = ordered[start:cut]
        bake = req.bake_minutes[min(len(stages), len(req.bake_minutes) - 1)]
        stages.append(
            StagePlan(
                index=len(stages),
                name=name,
                robot_ids=[r.robot_id for r in group],
                bake_minutes=bake,
                zones=sorted({r.zone for r in group}),
            )
        )
        start = cut
    return stages


def _rollout_id(candidate_sha: str, incumbent_sha: str, stages: list[StagePlan], seed: int) -> str:
    key = json.dumps([candidate_sha, incumbent_sha, [s.model_dump() for s in stages], seed])
    return hashlib.sha256(key.encode()).hexdigest()[:10]


def propose_plan(req: ProposeRolloutRequest, fleet: FleetClient, verdict: Verdict) -> RolloutPlan:
    """A staged plan for a promoted candidate, from what the fleet reports now."""
    check_verdict(verdict, req.candidate_version)
    policies = {p.version: p.sha256 for p in fleet.policies()}
    for version in (verdict.candidate_version, verdict.incumbent_version):
        if version not in policies:
            raise NotFoundError("policy version on the fleet", version, sorted(policies))
    incumbent = verdict.incumbent_version
    robots = fleet.robots()
    strays = [f"{r.robot_id} ({r.policy_version})" for r in robots if r.policy_version != incumbent]
    if strays:
        raise InvalidRequestError(
            f"robots not on the incumbent {incumbent}: {', '.join(strays)}; "
            "finish or roll back whatever put them there before planning a new rollout"
        )
    online = [r for r in robots if r.online]
    if not online:
        raise InvalidRequestError("no robot is online: nothing to roll out to")
    incidents = [i for i in fleet.incidents() if i.policy_version == incumbent]
    ordered = order_by_risk(
        online,
        zone_risk(robots, [i.zone for i in incidents]),
        Counter(i.robot_id for i in incidents),
    )
    rows = [m for m in fleet.metrics() if m.policy_version == incumbent]
    recent = list(dict.fromkeys(m.shift_id for m in rows))[-req.baseline_shifts :]
    baseline = baseline_from([m for m in rows if m.shift_id in recent], incumbent)
    if baseline.fleet.hours <= 0:
        raise InvalidRequestError(
            f"no baseline: the fleet has no reports of {incumbent} yet; let a shift run "
            "(robotops fleet simulate, or a bake) before planning"
        )
    stages = _stages(ordered, req)
    digest = _rollout_id(policies[req.candidate_version], policies[incumbent], stages, req.seed)
    return RolloutPlan(
        rollout_id=f"ro-{req.candidate_version}-{digest}",
        candidate_version=req.candidate_version,
        candidate_sha256=policies[req.candidate_version],
        incumbent_version=incumbent,
        incumbent_sha256=policies[incumbent],
        verdict=verdict.verdict,
        verdict_evidence_sha256=verdict.evidence_sha256,
        stages=stages,
        gates=req.gates,
        baseline=baseline,
        bake_seed=req.seed,
        left_out={r.robot_id: "offline" for r in robots if not r.online},
    )
