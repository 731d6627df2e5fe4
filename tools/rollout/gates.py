"""Metric gates: is the candidate on its robots no worse than the incumbent was on them?

Every gate compares what the robots running the candidate reported during the bake against
what the incumbent's baseline predicts for the same robots over the same hours (per robot when
the baseline saw that robot for a robot-minute or more, else the fleet average): hazards differ
from aisle to aisle, so a canary is judged against its own history. Margins are wide because
bakes are short: in 15 simulated seconds the same policy on the same robot has been measured
stopped anywhere from 0% to 79% of the time. Bakes are short, so count gates allow Poisson noise
(``ratio * expected + z * sqrt(max(expected, 1))``); collisions allow none beyond expectation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from pydantic import BaseModel, Field

from robotops.sim.fleet.models import RobotShiftMetrics, ShiftCounters

MIN_OWN_HOURS = 1 / 60  # a robot's own baseline counts once it covers a robot-minute


class Totals(ShiftCounters):
    """Summed reports of some robots over some shifts."""

    def add(self, m: RobotShiftMetrics) -> None:
        for name in ShiftCounters.model_fields:
            setattr(self, name, getattr(self, name) + getattr(m, name))

    def rate(self, name: str) -> float:
        """Per robot-hour (``stall_time_s`` gives the share of time stopped, times 3600)."""
        return getattr(self, name) / self.hours if self.hours > 0 else 0.0


class Baseline(BaseModel):
    """The incumbent's record the gates compare against, per robot and fleet-wide."""

    version: str
    shifts: list[str]
    fleet: Totals
    robots: dict[str, Totals] = Field(default_factory=dict)

    def expected(self, name: str, rows: Iterable[RobotShiftMetrics]) -> float:
        """What the incumbent would have shown on these robots over these hours."""
        total = 0.0
        for m in rows:
            own = self.robots.get(m.robot_id)
            source = own if own is not None and own.hours >= MIN_OWN_HOURS else self.fleet
            total += source.rate(name) * m.hours
        return total


class GateSpec(BaseModel):
    """How much worse than the incumbent a candidate may look before it is rolled back."""

    stall_ratio: float = Field(1.5, gt=0)
    stall_z: float = Field(2.0, ge=0)
    phantom_ratio: float = Field(1.5, gt=0)
    phantom_z: float = Field(2.0, ge=0)
    estop_ratio: float = Field(1.0, gt=0)
    estop_z: float = Field(1.0, ge=0)
    stall_share_margin: float = Field(
        0.25, ge=0, description="extra share of time stopped allowed over the incumbent's"
    )
    progress_min_ratio: float = Field(
        0.5,
        gt=0,
        le=1,
        description="least share of the metres the incumbent would have driven on the same "
        "robots and hours (distance, not missions: a bake is shorter than a mission)",
    )


class GateResult(BaseModel):
    """One gate's verdict, with the numbers it rests on."""

    gate: str
    passed: bool
    observed: float
    limit: float
    expected: float
    detail: str


def baseline_from(rows: list[RobotShiftMetrics], version: str) -> Baseline:
    """The baseline of ``version`` from the given reports (only rows of that version count)."""
    fleet, robots, shifts = Totals(), {}, []
    for m in rows:
        if m.policy_version != version:
            continue
        fleet.add(m)
        robots.setdefault(m.robot_id, Totals()).add(m)
        if m.shift_id not in shifts:
            shifts.append(m.shift_id)
    return Baseline(version=version, shifts=shifts, fleet=fleet, robots=robots)


def _count_gate(
    gate: str, name: str, ratio: float, z: float, base: Baseline, rows: list, seen: Totals
) -> GateResult:
    expected = base.expected(name, rows)
    limit = ratio * expected + z * math.sqrt(max(expected, 1.0))
    observed = getattr(seen, name)
    return GateResult(
        gate=gate,
        passed=observed <= limit,
        observed=observed,
        limit=round(limit, 3),
        expected=round(expected, 3),
        detail=f"{observed} {name.replace('_', ' ')} in {seen.hours * 60:.1f} robot-min; "
        f"the incumbent predicts {expected:.2f}, limit {limit:.2f}",
    )


def _collision_gate(base: Baseline, rows: list, seen: Totals) -> GateResult:
    expected = base.expected("collisions", rows)
    limit = math.floor(expected)
    return GateResult(
        gate="collisions",
        passed=seen.collisions <= limit,
        observed=seen.collisions,
        limit=limit,
        expected=round(expected, 3),
        detail=f"{seen.collisions} collision(s); any beyond the incumbent's "
        f"{expected:.2f} expected is new and fails",
    )


def _stall_share_gate(spec: GateSpec, base: Baseline, rows: list, seen: Totals) -> GateResult:
    hours = seen.hours or 1.0
    expected = base.expected("stall_time_s", rows) / 3600 / hours
    observed = seen.stall_time_s / 3600 / hours
    limit = expected + spec.stall_share_margin
    return GateResult(
        gate="stall_time_share",
        passed=observed <= limit,
        observed=round(observed, 4),
        limit=round(limit, 4),
        expected=round(expected, 4),
        detail=f"stopped {observed:.0%} of the time; the incumbent {expected:.0%}, "
        f"limit {limit:.0%}",
    )


def _progress_gate(spec: GateSpec, base: Baseline, rows: list, seen: Totals) -> GateResult:
    """Progress as metres driven against the incumbent's rate.

    Not missions: a bake segment restarts every robot at its start, and a mission (out and
    back along the aisle) takes longer than a short bake, so a mission count scaled down from
    long shifts would fail every candidate; distance scales with time.
    """
    expected = base.expected("distance_m", rows)
    observed = seen.distance_m
    limit = spec.progress_min_ratio * expected
    return GateResult(
        gate="mission_progress",
        passed=observed >= limit,
        observed=round(observed, 3),
        limit=round(limit, 3),
        expected=round(expected, 3),
        detail=f"{observed:.1f} m driven; the incumbent {expected:.1f}, "
        f"at least {limit:.1f} needed",
    )


def evaluate_gates(
    spec: GateSpec, baseline: Baseline, rows: list[RobotShiftMetrics]
) -> list[GateResult]:
    """Every gate over the candidate's bake reports; no reports at all fail (nothing seen)."""
    seen = Totals()
    for m in rows:
        seen.add(m)
    if seen.hours <= 0:
        return [
            GateResult(
                gate="reports",
                passed=False,
                observed=0,
                limit=0,
                expected=0,
                detail="no robot running the candidate reported any bake time",
            )
        ]
    return [
        _count_gate("stall_rate", "stalls", spec.stall_ratio, spec.stall_z, baseline, rows, seen),
        _stall_share_gate(spec, baseline, rows, seen),
        _count_gate(
            "phantom_stops",
            "phantom_stops",
            spec.phantom_ratio,
            spec.phantom_z,
            baseline,
            rows,
            seen,
        ),
        _count_gate("estops", "estops", spec.estop_ratio, spec.estop_z, baseline, rows, seen),
        _collision_gate(baseline, rows, seen),
        _progress_gate(spec, baseline, rows, seen),
    ]
