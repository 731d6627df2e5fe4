"""The baseline policy v1: perception trained only on clean simulated frames.

No glare and no hard shadows are in its training set, so in the field they fool it into
phantom obstacles: the failure the flywheel exists to fix. ``robotops policies train-baseline``
reproduces the shipped weights (same seed, same frames, same bytes on the same machine).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from robotops.policies.registry import PolicyCard, save_policy
from robotops.policies.training import TrainConfig, dataset_sha256, train_perception
from robotops.sim.world.simulator import WarehouseSim, lane_y
from robotops.sim.world.specs import (
    AISLE_CENTERS_Y,
    ForkliftActor,
    ObstacleHazard,
    WorkerActor,
    WorldSpec,
)

TRAINING_MSAA = 4
ACTOR_RADIUS = {"forklift_0": 0.8, "worker_0": 0.2, "worker_1": 0.2, "obstacle_0": 0.6}
CORRIDOR_HALF_WIDTH = 0.35
STOP_DISTANCE = 2.0
PRESENCE = {"forklift_0": 0.35, "worker_0": 0.5, "worker_1": 0.3, "obstacle_0": 0.35}


def _clean_world(aisle: int) -> WorldSpec:
    return WorldSpec(
        aisle=aisle,
        forklifts=[ForkliftActor(start=(18.0, -12.0), end=(18.0, 12.0))],
        workers=[WorkerActor(x=0.0), WorkerActor(x=5.0)],
        hazards=[ObstacleHazard(x=0.0, appear_s=0.0, duration_s=1e9)],
        pallets_x=[-9.0, 4.0],
    )


def place_actor(rng: np.random.Generator, name: str) -> tuple[float, float, float] | None:
    """Forward distance, lateral offset and relative yaw of an actor, or None if absent.

    Shared with the hazard frames; the order of the rng draws is what v1's weights came from."""
    if rng.random() > PRESENCE[name]:
        return None
    r = ACTOR_RADIUS[name]
    near = rng.random() < 0.5
    d = float(rng.uniform(r + 0.35, r + 2.3) if near else rng.uniform(r + 2.3, 9.0))
    if rng.random() < 0.6:
        lateral = float(rng.uniform(-0.5, 0.5))
    else:
        lateral = float(rng.choice([-1, 1]) * rng.uniform(1.0, 2.0))
    return d, lateral, float(rng.uniform(-math.pi, math.pi))


def actor_pose(
    robot: tuple[float, float, float], rel: tuple[float, float, float], aisle_y: float
) -> tuple[float, float, float]:
    """World pose of an actor placed at (distance ahead, lateral offset, relative heading)
    from the robot; between the shelves it stays inside the aisle."""
    x, y, yaw = robot
    d, lat, ryaw = rel
    ax = x + d * math.cos(yaw) - lat * math.sin(yaw)
    ay = y + d * math.sin(yaw) + lat * math.cos(yaw)
    if abs(ax) < 15.0:
        ay = float(np.clip(ay, aisle_y - 2.1, aisle_y + 2.1))
    return ax, ay, yaw + ryaw


def sample_frame(sim: WarehouseSim, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """One clean frame from a random place on the route, labelled from the geometry."""
    outbound = bool(rng.random() < 0.5)
    if rng.random() < 0.2:  # turning in the cross-aisle at a lane end, facing across it
        end = float(rng.choice([-1.0, 1.0]))
        x = end * float(rng.uniform(15.8, 17.0))
        y = AISLE_CENTERS_Y[sim.spec.aisle] + float(rng.uniform(-1.2, 1.2))
        yaw = float(rng.choice([-1.0, 1.0])) * math.pi / 2 + float(rng.normal(0.0, 0.3))
    else:
        x = float(rng.uniform(-16.0, 16.0))
        y = lane_y(sim.spec.aisle, outbound) + float(rng.normal(0.0, 0.12))
        yaw = (0.0 if outbound else math.pi) + float(rng.normal(0.0, 0.08))
    poses: dict[str, tuple[float, float, float] | None] = {}
    label = 0.0
    cy = AISLE_CENTERS_Y[sim.spec.aisle]
    for name, radius in ACTOR_RADIUS.items():
        rel = place_actor(rng, name)
        if rel is None:
            poses[name] = None
            continue
        ax, ay, ayaw = actor_pose((x, y, yaw), rel, cy)
        poses[name] = (ax, ay, ayaw)
        lat_true = -(ax - x) * math.sin(yaw) + (ay - y) * math.cos(yaw)
        if rel[0] - radius < STOP_DISTANCE and abs(lat_true) < CORRIDOR_HALF_WIDTH + radius:
            label = 1.0
    sim.teleport((x, y, yaw), poses)
    return sim.camera(), label


def render_clean_frames(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` labelled clean frames spread over the three aisles."""
    rng = np.random.default_rng(seed)
    frames, labels = [], []
    sims = [  # v1's frames were rendered with 4x MSAA: kept so its weights reproduce
        WarehouseSim(_clean_world(a), seed + a, msaa=TRAINING_MSAA)
        for a in range(len(AISLE_CENTERS_Y))
    ]
    try:
        for i in range(n):
            frame, label = sample_frame(sims[i % len(sims)], rng)
            frames.append(frame)
            labels.append(label)
    finally:
        for s in sims:
            s.close()
    return np.stack(frames), np.asarray(labels, dtype=np.float32)


def train_baseline(
    out_dir: Path, n_frames: int = 2400, seed: int = 0, epochs: int = 12, version: str = "v1"
) -> tuple[Path, PolicyCard]:
    """Render clean frames, train, and save ``version`` with a card recording how."""
    frames, labels = render_clean_frames(n_frames, seed)
    net, report = train_perception(frames, labels, TrainConfig(epochs=epochs, seed=seed))
    card = PolicyCard(
        version=version,
        weights_sha256="",
        dataset_sha256=dataset_sha256(frames, labels),
        command=(
            f"robotops policies train-baseline --frames {n_frames} --seed {seed} --epochs {epochs}"
        ),
        seed=seed,
        metrics={
            "val_accuracy": report.val_accuracy,
            "val_loss": report.val_loss,
            "positive_fraction": float(labels.mean()),
            "frames": float(n_frames),
        },
    )
    return save_policy(net, card, out_dir), card
