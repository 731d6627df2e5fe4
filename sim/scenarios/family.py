"""A scenario family from a triaged incident: the incident rebuilt from its log, plus variants.

The reconstruction reads only what the robot logged (never the simulator's ground truth): its
pose around the incident time (any PoseStamped or Odometry channel, found by message type),
the range straight ahead, and the triage diagnosis. From those it places the robot on its lane
a few metres back, and the diagnosed hazard where it must have been. Variants sweep the hazard's
parameters with a scrambled Halton sequence (seeded) plus the corners of the ranges, where
rare failures live.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field
from scipy.stats import qmc

from robotops.errors import ConfigError, LogFormatError
from robotops.policies.registry import sha256_file
from robotops.sim.logs.readers import open_log, topics_of_type
from robotops.sim.scenarios.spec import ScenarioSource, ScenarioSpec
from robotops.sim.world.specs import (
    AISLE_CENTERS_Y,
    LANE_X_RANGE,
    GlareHazard,
    Hazard,
    LatencyHazard,
    ObstacleHazard,
    OilHazard,
    ShadowHazard,
    WorldSpec,
)

POSE_TYPES = ("geometry_msgs/PoseStamped", "nav_msgs/Odometry")
SCAN_TYPES = ("sensor_msgs/LaserScan",)
LOOKBACK_NS = 10_000_000_000
FRONT_HALF_ANGLE = math.radians(15)
RANGE_SITE_AHEAD_M = 0.31  # the range scanner sits this far ahead of the robot's centre
PALLET_HALF_M = 0.6
HAZARD_X_LIMIT = 15.0  # hazards stay along the shelves
START_X_LIMIT = 16.0


class Range(BaseModel):
    """One swept parameter: its incident value and the range variants cover."""

    nominal: float
    low: float
    high: float


# Per diagnosed cause: the hazard's parameters and their ranges. ``ahead_m`` is how far past the
# robot's stopping pose the hazard stands; ``approach_m`` how far back the robot starts.
PARAMETERS: dict[str, dict[str, Range]] = {
    "glare": {
        "ahead_m": Range(nominal=4.5, low=2.5, high=6.0),
        "intensity": Range(nominal=1.3, low=0.9, high=1.8),
        "facing_deg": Range(nominal=180.0, low=165.0, high=195.0),
    },
    "shadow": {
        "ahead_m": Range(nominal=2.5, low=1.5, high=4.0),
        "width": Range(nominal=1.8, low=0.8, high=2.5),
        "contrast": Range(nominal=0.8, low=0.5, high=0.95),
    },
    "oil": {
        "ahead_m": Range(nominal=0.0, low=-1.0, high=1.0),
        "length": Range(nominal=2.5, low=1.5, high=3.5),
        "friction": Range(nominal=0.035, low=0.02, high=0.1),
    },
    "latency": {"latency_s": Range(nominal=0.9, low=0.5, high=1.2)},
    "real_obstacle": {
        "ahead_m": Range(nominal=2.0, low=1.5, high=4.0),
        "appear_s": Range(nominal=0.0, low=0.0, high=3.0),
    },
}
TURN_CAUSES = ("oil", "latency")  # they bite where robots turn: drive the turn at the goal
COMMON = {"approach_m": Range(nominal=7.0, low=5.0, high=9.0)}
CAUSES = tuple(PARAMETERS)


class FamilyRequest(BaseModel):
    """Which incident to rebuild, from which log, and how many variants around it."""

    incident_id: str = Field(min_length=1)
    robot_id: str
    log_path: Path
    time_ns: int
    cause: str = Field(description="the triage diagnosis: " + ", ".join(CAUSES))
    log_sha256: str | None = Field(None, description="computed from the log when absent")
    variants: int = Field(16, ge=0, le=100_000)
    seed: int = 0
    duration_s: float = Field(20.0, gt=0.0, le=600.0)


class ScenarioFamily(BaseModel):
    """The incident scenario first, then edges and variants."""

    name: str
    source: ScenarioSource
    scenarios: list[ScenarioSpec]


@dataclass(frozen=True)
class IncidentPose:
    """What the log says about the robot at the incident."""

    x: float
    y: float
    yaw: float
    front_range_m: float | None


def _pose_of(msg: Any) -> tuple[float, float, float]:
    pose = msg.pose.pose if hasattr(msg.pose, "pose") else msg.pose  # Odometry or PoseStamped
    q = pose.orientation
    yaw = math.atan2(2 * (q.w * q.z + q.x * q.y), 1 - 2 * (q.y * q.y + q.z * q.z))
    return float(pose.position.x), float(pose.position.y), yaw


def _front_range(msg: Any) -> float | None:
    ranges = np.asarray(msg.ranges, dtype=np.float64)
    angles = msg.angle_min + msg.angle_increment * np.arange(len(ranges))
    front = ranges[(np.abs(angles) <= FRONT_HALF_ANGLE) & np.isfinite(ranges)]
    return float(front.min()) if len(front) else None


def read_incident_pose(log_path: Path, time_ns: int) -> IncidentPose:
    """The robot's last logged pose at or before ``time_ns`` and the range ahead of it then."""
    with open_log(log_path) as reader:
        summary = reader.summary()
        # localisation first: wheel odometry drifts
        pose_topics = set(topics_of_type(summary, POSE_TYPES[0])) or set(
            topics_of_type(summary, POSE_TYPES[1])
        )
        scan_topics = set(topics_of_type(summary, *SCAN_TYPES))
        if not pose_topics:
            raise LogFormatError(
                str(log_path), f"no pose channel (one of {', '.join(POSE_TYPES)}) to rebuild from"
            )
        pose, scan = None, None
        for msg in reader.messages():
            if msg.log_time_ns > time_ns:
                break
            if msg.log_time_ns < time_ns - LOOKBACK_NS:
                continue
            if msg.topic in pose_topics and (decoded := msg.decoded) is not None:
                pose = _pose_of(decoded)
            elif msg.topic in scan_topics and (decoded := msg.decoded) is not None:
                scan = _front_range(decoded)
    if pose is None:
        raise LogFormatError(
            str(log_path), f"no pose logged in the {LOOKBACK_NS // 10**9} s before t={time_ns}"
        )
    return IncidentPose(*pose, front_range_m=scan)


def _hazard(cause: str, p: dict[str, float], x: float, side: float, duration_s: float) -> Hazard:
    if cause == "glare":
        return GlareHazard(x=x, intensity=p["intensity"], facing_deg=p["facing_deg"], side=side)
    if cause == "shadow":
        return ShadowHazard(x=x, width=p["width"], contrast=p["contrast"])
    if cause == "oil":
        return OilHazard(x=x, length=p["length"], friction=p["friction"])
    if cause == "latency":
        return LatencyHazard(latency_s=p["latency_s"])
    return ObstacleHazard(x=x, appear_s=p["appear_s"], duration_s=duration_s + 1.0, side=side)


def _clamp(v: float, limit: float) -> float:
    return max(-limit, min(limit, v))


def driving_direction(pose: IncidentPose) -> float:
    """+1 along +x, -1 along -x; a robot caught sideways is turning at the lane end it faced."""
    if abs(math.cos(pose.yaw)) >= 0.5:
        return math.copysign(1.0, math.cos(pose.yaw))
    return 1.0 if pose.x >= 0 else -1.0


def build_scenario(
    req: FamilyRequest,
    pose: IncidentPose,
    source: ScenarioSource,
    params: dict[str, float],
    scenario_id: str,
    seed: int,
    tags: list[str],
) -> ScenarioSpec:
    """One scenario: the robot ``approach_m`` back from the incident pose, the hazard ahead."""
    aisle = int(np.argmin([abs(pose.y - c) for c in AISLE_CENTERS_Y]))
    direction = driving_direction(pose)
    side = -direction  # outbound lane (-1) when driving +x
    turns = req.cause in TURN_CAUSES
    limit = LANE_X_RANGE[1] if req.cause == "oil" else HAZARD_X_LIMIT  # spills reach lane ends
    hazard_x = _clamp(pose.x + direction * params.get("ahead_m", 0.0), limit)
    start_x = _clamp(pose.x - direction * params["approach_m"], START_X_LIMIT)
    lane_end = direction * LANE_X_RANGE[1]
    goal_x = lane_end if turns else _clamp(pose.x + direction * 8.0, LANE_X_RANGE[1])
    world = WorldSpec(
        aisle=aisle, hazards=[_hazard(req.cause, params, hazard_x, side, req.duration_s)]
    )
    return ScenarioSpec(
        scenario_id=scenario_id,
        family=family_name(req.incident_id),
        description=f"{req.cause} at incident {req.incident_id} (robot {req.robot_id})",
        world=world,
        start_x=round(start_x, 4),
        outbound=direction > 0,
        goal_x=round(goal_x, 4),
        turn_at_goal=turns,
        duration_s=req.duration_s,
        seed=seed,
        tags=[req.cause, *tags],
        source=source,
        params={k: round(v, 6) for k, v in params.items()},
    )


def _ranges(cause: str) -> dict[str, Range]:
    if cause not in PARAMETERS:
        raise ConfigError(f"cannot rebuild cause {cause!r}; known: {', '.join(CAUSES)}")
    return {**COMMON, **PARAMETERS[cause]}


def _corners(d: int) -> list[list[int]]:
    """Every corner of a d-cube, each followed by its opposite: all-low, all-high, ..."""
    out = []
    for i in range(2 ** (d - 1)):
        bits = [(i >> j) & 1 for j in range(d)]
        out += [bits, [1 - b for b in bits]]
    return out


def sample_parameters(
    ranges: dict[str, Range], n: int, seed: int
) -> list[tuple[str, dict[str, float]]]:
    """``n`` parameter sets: corners of the box first (up to a quarter), then a Halton sweep."""
    names = list(ranges)
    low = np.array([ranges[k].low for k in names])
    high = np.array([ranges[k].high for k in names])
    n_edges = min(2 ** len(names), n // 4 if n >= 4 else 0)
    out: list[tuple[str, dict[str, float]]] = []
    for bits in _corners(len(names))[:n_edges]:
        values = np.where(bits, high, low)
        out.append(("edge", {k: float(v) for k, v in zip(names, values, strict=True)}))
    if n > n_edges:
        unit = qmc.Halton(d=len(names), scramble=True, seed=seed).random(n - n_edges)
        for row in qmc.scale(unit, low, high):
            out.append(("variant", {k: float(v) for k, v in zip(names, row, strict=True)}))
    return out


def family_name(incident_id: str) -> str:
    return f"incident-{incident_id}"


def generate_family(req: FamilyRequest) -> ScenarioFamily:
    """Rebuild the incident from its log, then ``req.variants`` procedural variants around it."""
    ranges = _ranges(req.cause)
    log_path = Path(req.log_path)
    pose = read_incident_pose(log_path, req.time_ns)
    source = ScenarioSource(
        incident_id=req.incident_id,
        robot_id=req.robot_id,
        log_sha256=req.log_sha256 or sha256_file(log_path),
        time_ns=req.time_ns,
        cause=req.cause,
    )
    nominal = {k: r.nominal for k, r in ranges.items()}
    if req.cause == "real_obstacle" and pose.front_range_m is not None and pose.front_range_m < 7.5:
        nominal["ahead_m"] = pose.front_range_m + RANGE_SITE_AHEAD_M + PALLET_HALF_M
    name = family_name(req.incident_id)
    scenarios = [
        build_scenario(req, pose, source, nominal, f"{name}-incident", req.seed, ["incident"])
    ]
    for i, (kind, params) in enumerate(sample_parameters(ranges, req.variants, req.seed)):
        scenarios.append(
            build_scenario(
                req, pose, source, params, f"{name}-{kind}-{i + 1:04d}", req.seed + i + 1, [kind]
            )
        )
    return ScenarioFamily(name=name, source=source, scenarios=scenarios)
