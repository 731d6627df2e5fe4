"""Where the kinematic actors are at time t: pure functions, so a replay puts them back exactly."""

from __future__ import annotations

import math

from robotops.sim.world.specs import (
    AISLE_CENTERS_Y,
    LANE_OFFSET,
    ForkliftActor,
    GlareHazard,
    ObstacleHazard,
    WorkerActor,
)

Pose2D = tuple[float, float, float]


def forklift_pose(actor: ForkliftActor, aisle: int, travel: float) -> Pose2D:
    """A forklift shuttling between its two points, after driving ``travel`` metres."""
    (x0, y0), (x1, y1) = actor.start, actor.end
    span = max(math.hypot(x1 - x0, y1 - y0), 1e-6)
    s = (travel / span + actor.phase) % 2.0
    forward = s < 1.0
    frac = s if forward else 2.0 - s
    heading = math.atan2(y1 - y0, x1 - x0)
    x, y = x0 + frac * (x1 - x0), y0 + frac * (y1 - y0)
    return x, AISLE_CENTERS_Y[aisle] + y, heading if forward else heading + math.pi


def worker_pose(actor: WorkerActor, aisle: int) -> Pose2D:
    offset = LANE_OFFSET if actor.in_lane else 2.1
    y = AISLE_CENTERS_Y[aisle] + actor.side * offset
    return actor.x, y, math.radians(actor.facing_deg)


def glare_worker_pose(hazard: GlareHazard, aisle: int) -> Pose2D:
    """The flaring worker stands just beside a lane (outbound by default), on the shelf side."""
    y = AISLE_CENTERS_Y[aisle] + hazard.side * LANE_OFFSET + hazard.side * 1.1  # bit-stable
    return hazard.x, y, math.radians(hazard.facing_deg)


def obstacle_active(hazard: ObstacleHazard, t: float) -> bool:
    return hazard.appear_s <= t < hazard.appear_s + hazard.duration_s


def obstacle_pose(hazard: ObstacleHazard, aisle: int) -> Pose2D:
    return hazard.x, AISLE_CENTERS_Y[aisle] + hazard.side * LANE_OFFSET, 0.0
