"""Simulator frames with the hazards in view: glare vests and shadow bands the fleet met.

Like the baseline's clean frames (robot and actors teleported, target from the geometry), but
rendered in the worlds of the scenario family, and with the robot placed more often where a
hazard is in front of the camera, so the hazard's appearance is well covered. The camera's glare
model runs at render time on the teleported scene, and the hazards acting on the frame (ground
truth) are kept as tags for evals.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel

from robotops.sim.baseline import (
    ACTOR_RADIUS,
    CORRIDOR_HALF_WIDTH,
    STOP_DISTANCE,
    actor_pose,
    place_actor,
)
from robotops.sim.world import actors
from robotops.sim.world.camera import project, visible
from robotops.sim.world.simulator import WarehouseSim, lane_y
from robotops.sim.world.specs import (
    AISLE_CENTERS_Y,
    ForkliftActor,
    ObstacleHazard,
    WorkerActor,
    WorldSpec,
)

HAZARD_TAGS = ("glare", "shadow")
GLARE_WORKER_RADIUS = 0.2
SIGHT_HEIGHTS = {
    "obstacle": (0.2, 0.5, 0.7),
    "worker": (0.4, 0.8, 1.2, 1.5),
    "forklift": (0.3, 0.8, 1.4),
}


class SimFrameMeta(BaseModel):
    """Where a rendered frame comes from and what acted on it (ground truth)."""

    world: int
    tags: list[str]
    in_path: bool = False  # an actor in the path within stop distance, seen or not


def renderable(world: WorldSpec) -> WorldSpec:
    """The world with the actors frame sampling moves around (a forklift, two workers and a
    pallet that is always there), keeping its own hazards, pallets and layout."""
    hazards = [h for h in world.hazards if h.kind != "obstacle"]
    hazards.append(ObstacleHazard(x=0.0, appear_s=0.0, duration_s=1e9))
    forklifts = world.forklifts[:1] or [ForkliftActor(start=(18.0, -12.0), end=(18.0, 12.0))]
    workers = (list(world.workers) + [WorkerActor(x=0.0), WorkerActor(x=5.0)])[:2]
    return world.model_copy(update={"hazards": hazards, "forklifts": forklifts, "workers": workers})


def _robot_pose(world: WorldSpec, rng: np.random.Generator) -> tuple[float, float, float]:
    """Near a hazard, facing it, most of the time; anywhere on the route otherwise."""
    hazards = [h for h in world.hazards if h.kind in HAZARD_TAGS]
    if hazards and rng.random() < 0.75:
        h = hazards[int(rng.integers(len(hazards)))]
        # a vest faces the lane its wearer stands beside; shadows are met from both ways
        glare = h.kind == "glare"
        outbound = getattr(h, "side", -1.0) < 0 if glare else bool(rng.random() < 0.5)
        heading = 1.0 if outbound else -1.0
        x = h.x - heading * float(rng.uniform(-0.5 if h.kind == "shadow" else 1.0, 9.0))
        y = lane_y(world.aisle, outbound) + float(rng.normal(0.0, 0.12))
        return x, y, (0.0 if outbound else math.pi) + float(rng.normal(0.0, 0.08))
    outbound = bool(rng.random() < 0.5)
    x = float(rng.uniform(-16.0, 16.0))
    y = lane_y(world.aisle, outbound) + float(rng.normal(0.0, 0.12))
    return x, y, (0.0 if outbound else math.pi) + float(rng.normal(0.0, 0.08))


def _in_path(pose: tuple[float, float, float], ax: float, ay: float, radius: float) -> bool:
    x, y, yaw = pose
    ahead = (ax - x) * math.cos(yaw) + (ay - y) * math.sin(yaw)
    lateral = -(ax - x) * math.sin(yaw) + (ay - y) * math.cos(yaw)
    dist = math.hypot(ax - x, ay - y)
    return (
        ahead > 0 and dist - radius < STOP_DISTANCE and abs(lateral) < CORRIDOR_HALF_WIDTH + radius
    )


def in_sight(sim: WarehouseSim, body: str, x: float, y: float) -> bool:
    """Whether the camera sees any of a few points up the actor's body (frame and ray test)."""
    m, d = sim.model, sim.data
    cam_pos, cam_mat = d.cam_xpos[sim.cam_id].copy(), d.cam_xmat[sim.cam_id]
    fovy = float(m.cam_fovy[sim.cam_id])
    target = m.body(body).id
    kind = body.split("_")[0] if not body.startswith("glare") else "worker"
    for z in SIGHT_HEIGHTS[kind]:
        point = np.array([x, y, z])
        pix = project(point, cam_pos, cam_mat, fovy, sim.width, sim.height)
        if pix is None or not (0 <= pix[0] < sim.width and 0 <= pix[1] < sim.height):
            continue
        if visible(m, d, cam_pos, point, target, sim.robot_body):
            return True
    return False


def sample_hazard_frame(
    sim: WarehouseSim, rng: np.random.Generator
) -> tuple[np.ndarray, int, SimFrameMeta]:
    """One frame, its target and ground truth. The target is 1 when an actor is in the path
    within the stop distance *and* the camera can see it: what is out of sight is the range
    sensor's job, and teaching the camera to imagine it would teach it phantoms."""
    pose = _robot_pose(sim.spec, rng)
    x, y, yaw = pose
    cy = AISLE_CENTERS_Y[sim.spec.aisle]
    placed: dict[str, actors.Pose2D | None] = {}
    blocking: list[tuple[str, float, float]] = []
    for name, radius in ACTOR_RADIUS.items():
        rel = place_actor(rng, name)
        if rel is None:
            placed[name] = None
            continue
        ax, ay, ayaw = actor_pose(pose, rel, cy)
        placed[name] = (ax, ay, ayaw)
        if _in_path(pose, ax, ay, radius):
            blocking.append((name, ax, ay))
    for i, g in enumerate(sim.spec.hazard("glare")):  # the vest's wearer is a real person
        gx, gy, _ = actors.glare_worker_pose(g, sim.spec.aisle)
        if _in_path(pose, gx, gy, GLARE_WORKER_RADIUS):
            blocking.append((f"glare_worker_{i}", gx, gy))
    sim.teleport(pose, placed)
    seen = any(in_sight(sim, name, ax, ay) for name, ax, ay in blocking)
    frame = sim.camera()  # glare is computed here, on the teleported scene
    tags = sorted(set(HAZARD_TAGS) & sim.hazards_acting())
    return frame, int(seen), SimFrameMeta(world=-1, tags=tags, in_path=bool(blocking))


def render_sim_frames(
    worlds: list[WorldSpec], n: int, seed: int
) -> tuple[np.ndarray, np.ndarray, list[SimFrameMeta]]:
    """``n`` frames (uint8, N x 96 x 128 x 3) spread over ``worlds`` with 0/1 geometric
    targets and per-frame metadata; the same worlds, ``n`` and ``seed`` give the same bytes."""
    if not worlds:
        raise ValueError("render_sim_frames needs at least one world")
    rng = np.random.default_rng(seed)
    sims = [WarehouseSim(renderable(w), seed + i) for i, w in enumerate(worlds)]
    frames, targets, meta = [], [], []
    try:
        for i in range(n):
            k = i % len(sims)
            frame, target, info = sample_hazard_frame(sims[k], rng)
            frames.append(frame)
            targets.append(target)
            meta.append(info.model_copy(update={"world": k}))
    finally:
        for s in sims:
            s.close()
    empty = np.zeros((0, 96, 128, 3), np.uint8)
    return (np.stack(frames) if frames else empty), np.asarray(targets, np.float32), meta
