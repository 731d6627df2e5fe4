"""Labeled camera frames from the simulated warehouse, with ground truth the simulator knows.

The embedded labeler's classifier is trained on these, and evaluated on more of them drawn with
another seed. Ground truth comes from the simulator, never from a person:

* ``glare``: the simulator's own flare strength (``WarehouseSim.last_glare``) is over 0.3, the
  same rule its hazard ground truth uses;
* ``forklift``, ``person``, ``pallet``, ``reflective_vest``, ``wet_floor``: enough pixels of
  that object in a segmentation render of the same view (so an object hidden behind a shelf or
  a forklift does not count);
* ``hard_shadow``: enough pixels whose 3-D point (from a depth render) lies under a shadow
  beam, where the light casts the band.

Frames are JPEG-encoded and decoded again, as every frame in a robot's log is. Objects whose
truth sits right on the boundary (a shadow band a few pixels high, a person half hidden) are
masked out of training with ``mask`` = 0, never out of evaluation; glare, a threshold on a
continuous strength, gets a soft training target instead.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from robotops.sim.baseline import TRAINING_MSAA
from robotops.sim.world import actors
from robotops.sim.world.simulator import WarehouseSim, lane_y
from robotops.sim.world.specs import (
    AISLE_CENTERS_Y,
    AISLE_HALF_WIDTH,
    ForkliftActor,
    GlareHazard,
    ObstacleHazard,
    OilHazard,
    ShadowHazard,
    WorkerActor,
    WorldSpec,
)
from robotops.tools.labeling.degrade import DEGRADATIONS, DEGRADE

if TYPE_CHECKING:
    import mujoco

SIM_LABELS = (
    "glare",
    "hard_shadow",
    "reflective_vest",
    "forklift",
    "person",
    "pallet",
    "wet_floor",
)
LABELS = SIM_LABELS + DEGRADATIONS
HIDDEN_BY_OCCLUSION = (
    "hard_shadow",
    "reflective_vest",
    "forklift",
    "person",
    "pallet",
    "wet_floor",
)
SUBTLE = ("hard_shadow", "reflective_vest", "wet_floor")  # unsure under any degradation
GLARE_ON, GLARE_SOFTNESS = 0.3, 0.025  # hazards_acting's rule; width of the soft target
# Visible pixels (of 128 x 96) from which an object counts as in view, and below which it
# counts as absent; in between, training ignores the label.
PIXELS_ON = {
    "hard_shadow": 250,
    "reflective_vest": 30,
    "forklift": 80,
    "person": 40,
    "pallet": 80,
    "wet_floor": 150,
}
PIXELS_OFF = {
    "hard_shadow": 40,
    "reflective_vest": 8,
    "forklift": 20,
    "person": 10,
    "pallet": 20,
    "wet_floor": 30,
}
FRAMES_PER_WORLD = 16
TARGET_RANGE = {"glare": (1.0, 6.0), "shadow": (0.0, 9.0), "oil": (-2.0, 9.0)}  # m ahead
JPEG_QUALITY = 85  # what the simulated fleet's recorder uses

WorldFn = Callable[[np.random.Generator, int], WorldSpec]


@dataclass
class LabeledFrames:
    """Frames (N, H, W, 3) uint8 with 0/1 truth ``labels``, training ``targets`` (soft where
    the truth is a threshold on a continuous quantity) and ``mask``, each (N, len(names))."""

    frames: np.ndarray
    labels: np.ndarray
    mask: np.ndarray
    names: tuple[str, ...]
    targets: np.ndarray


def training_world(rng: np.random.Generator, index: int) -> WorldSpec:
    """A world with a broad spread of hazards and actors, wider than any shift draws."""
    hazards: list = [ObstacleHazard(x=0.0, appear_s=0.0, duration_s=1e9)]
    if rng.random() < 0.6:
        facing = float(rng.choice([0.0, 180.0]) + rng.normal(0.0, 25.0))
        hazards.append(
            GlareHazard(
                x=float(rng.uniform(-10, 10)),
                intensity=float(rng.uniform(0.5, 1.9)),
                facing_deg=facing,
            )
        )
    if rng.random() < 0.5:
        hazards.append(
            ShadowHazard(
                x=float(rng.uniform(-10, 10)),
                width=float(rng.uniform(0.6, 2.6)),
                contrast=float(rng.uniform(0.45, 0.95)),
            )
        )
    if rng.random() < 0.45:
        x = (
            float(rng.choice([-1, 1]) * rng.uniform(14.0, 16.5))
            if rng.random() < 0.5
            else float(rng.uniform(-12, 12))
        )
        hazards.append(OilHazard(x=x, length=float(rng.uniform(1.5, 3.5))))
    return WorldSpec(
        aisle=index % len(AISLE_CENTERS_Y),
        hazards=hazards,
        forklifts=[ForkliftActor(start=(18.0, -12.0), end=(18.0, 12.0))],
        workers=[WorkerActor(x=0.0), WorkerActor(x=5.0)],
        pallets_x=[float(x) for x in rng.uniform(-12, 12, size=int(rng.integers(0, 3)))],
    )


class _Truth:
    """Segmentation and depth renders of the sim's camera view, turned into per-label truth."""

    def __init__(self, sim: WarehouseSim) -> None:
        import mujoco  # after robotops.sim, which picks the headless GL backend

        self.sim = sim
        m = sim.model
        self.renderer = mujoco.Renderer(m, sim.height, sim.width)
        self.geom_type = int(mujoco.mjtObj.mjOBJ_GEOM)
        self.floor = m.geom("floor").id
        self.option = mujoco.MjvOption()
        self.option.flags[mujoco.mjtVisFlag.mjVIS_RANGEFINDER] = 0
        self.option.sitegroup[:] = 0
        self.category = np.full(m.ngeom + 1, "", dtype=object)
        for g in range(m.ngeom):
            self.category[g] = _category(m, g)
        fovy = math.radians(float(m.cam_fovy[sim.cam_id]))
        f = (sim.height / 2) / math.tan(fovy / 2)
        v, u = np.mgrid[0 : sim.height, 0 : sim.width].astype(np.float64)
        # camera-frame ray per pixel: x right, y up, looking down -z (MuJoCo's convention)
        self.rays = np.stack(
            [(u + 0.5 - sim.width / 2) / f, -(v + 0.5 - sim.height / 2) / f, -np.ones_like(u)],
            axis=-1,
        )

    def _render(self, mode: str) -> np.ndarray:
        r = self.renderer
        r.disable_segmentation_rendering()
        r.disable_depth_rendering()
        if mode == "segmentation":
            r.enable_segmentation_rendering()
        else:
            r.enable_depth_rendering()
        r.update_scene(self.sim.data, camera=self.sim.cam_id, scene_option=self.option)
        return r.render()

    def pixels(self) -> dict[str, int]:
        """Visible pixels per label of everything in view."""
        seg = self._render("segmentation")
        geom = np.where(seg[..., 1] == self.geom_type, seg[..., 0], -1)
        cats = self.category[geom]
        out = {name: int((cats == name).sum()) for name in PIXELS_ON if name != "hard_shadow"}
        out["person"] += out["reflective_vest"]
        out["hard_shadow"] = self._shadow_pixels(geom == self.floor)
        return out

    def _shadow_pixels(self, floor: np.ndarray) -> int:
        """Floor pixels under a shadow beam (vertical faces barely show the band: the light
        comes from straight above)."""
        bands = self.sim.spec.hazard("shadow")
        if not bands or not floor.any():
            return 0
        depth = self._render("depth")
        data, cam = self.sim.data, self.sim.cam_id
        points = (self.rays * depth[..., None]) @ data.cam_xmat[cam].reshape(3, 3).T
        points += data.cam_xpos[cam]
        cy = AISLE_CENTERS_Y[self.sim.spec.aisle]
        under = np.zeros(depth.shape, bool)
        for band in bands:
            under |= (np.abs(points[..., 0] - band.x) < band.width / 2) & (
                np.abs(points[..., 1] - cy) < AISLE_HALF_WIDTH + 1.0
            )
        return int((under & floor).sum())

    def close(self) -> None:
        self.renderer.close()


def _category(model: mujoco.MjModel, geom: int) -> str:
    body = model.geom_bodyid[geom]
    while model.body_parentid[body] != 0:
        body = model.body_parentid[body]
    name = model.body(body).name
    geom_name = model.geom(geom).name
    if name.startswith("glare_worker"):
        return "reflective_vest" if ("strip" in geom_name or "vest" in geom_name) else "person"
    if name.startswith("worker"):
        return "person"
    if name.startswith("forklift"):
        return "forklift"
    if name.startswith(("obstacle", "static_pallet")):
        return "pallet"
    return "wet_floor" if geom_name == "oil" else ""


def _robot_pose(sim: WarehouseSim, rng: np.random.Generator) -> tuple[float, float, float]:
    """Where robots really are: in a lane facing along it, or turning at a lane end; often
    placed to look at one of the world's hazards (a flaring vest most of all)."""
    spec = sim.spec
    cy = AISLE_CENTERS_Y[spec.aisle]
    targets = [h for h in spec.hazards if h.kind in ("glare", "shadow", "oil")]
    if rng.random() < 0.2:
        end = float(rng.choice([-1.0, 1.0]))
        x = end * float(rng.uniform(15.0, 17.0))
        yaw = end * float(rng.uniform(0.0, math.pi))
        return x, cy + float(rng.uniform(-1.2, 1.2)), yaw + float(rng.normal(0.0, 0.3))
    outbound = bool(rng.random() < 0.5)
    heading = 1.0 if outbound else -1.0
    if targets and rng.random() < 0.6:
        weights = np.array([2.0 if h.kind == "glare" else 1.0 for h in targets])
        target = targets[int(rng.choice(len(targets), p=weights / weights.sum()))]
        near, far = TARGET_RANGE[target.kind]
        x = float(np.clip(target.x - heading * rng.uniform(near, far), -16.5, 16.5))
    else:
        x = float(rng.uniform(-16.5, 16.5))
    y = lane_y(spec.aisle, outbound) + float(rng.normal(0.0, 0.12))
    return x, y, (0.0 if outbound else math.pi) + float(rng.normal(0.0, 0.1))


def _actor_poses(
    sim: WarehouseSim, rng: np.random.Generator, pose: tuple[float, float, float]
) -> dict[str, actors.Pose2D | None]:
    """Forklift, workers and a pallet somewhere in front of the robot, or parked out of sight."""
    x, y, yaw = pose
    cy = AISLE_CENTERS_Y[sim.spec.aisle]
    names = (
        [f"forklift_{i}" for i in range(len(sim.spec.forklifts))]
        + [f"worker_{i}" for i in range(len(sim.spec.workers))]
        + [f"obstacle_{i}" for i in range(len(sim.spec.hazard("obstacle")))]
    )
    out: dict[str, actors.Pose2D | None] = {}
    for name in names:
        if rng.random() < 0.5:
            out[name] = None
            continue
        d = float(rng.uniform(1.0, 12.0))
        lateral = float(rng.uniform(-2.0, 2.0))
        ax = x + d * math.cos(yaw) - lateral * math.sin(yaw)
        ay = y + d * math.sin(yaw) + lateral * math.cos(yaw)
        if abs(ax) < 15.0:
            ay = float(np.clip(ay, cy - 2.1, cy + 2.1))
        out[name] = (ax, ay, float(rng.uniform(-math.pi, math.pi)))
    return out


def jpeg_roundtrip(frame: np.ndarray, quality: int = JPEG_QUALITY) -> np.ndarray:
    """The frame as a robot's camera would store it (JPEG at ``quality``), decoded again."""
    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    with Image.open(buf) as image:
        return np.asarray(image.convert("RGB"))


def _truth(
    glare: float, pixels: dict[str, int], degraded: str | None
) -> tuple[list[float], list[float], list[float]]:
    """Truth, training target and mask per label. A flare's strength is continuous and the
    truth a threshold on it, so its target is a steep sigmoid around the threshold: the
    classifier learns where the boundary is instead of guessing between far examples."""
    labels, mask = [], []
    for name in SIM_LABELS:
        if name == "glare":
            labels.append(float(glare > GLARE_ON))
            mask.append(1.0)
        else:
            n = pixels[name]
            labels.append(float(n >= PIXELS_ON[name]))
            clear = n >= PIXELS_ON[name] or n <= PIXELS_OFF[name]
            hidden = degraded is not None and name in (
                HIDDEN_BY_OCCLUSION if degraded == "camera_occlusion" else SUBTLE
            )
            mask.append(float(clear and not hidden))
    labels += [float(name == degraded) for name in DEGRADATIONS]
    mask += [1.0] * len(DEGRADATIONS)
    targets = list(labels)
    targets[0] = 1.0 / (1.0 + math.exp(-(glare - GLARE_ON) / GLARE_SOFTNESS))
    return labels, targets, mask


def _degradation(rng: np.random.Generator, p: float, glare: bool) -> str | None:
    """At most one degradation per frame; a flare outshines low light, so never both."""
    if rng.random() >= p:
        return None
    choices = [d for d in DEGRADATIONS if not (glare and d == "low_light")]
    return choices[int(rng.integers(len(choices)))]


def render_labeled(
    n: int,
    seed: int | tuple[int, ...],
    world: WorldFn = training_world,
    degrade_p: float = 0.35,
    frames_per_world: int = FRAMES_PER_WORLD,
) -> LabeledFrames:
    """``n`` frames with ground truth, from worlds drawn by ``world(rng, index)``; a fraction
    ``degrade_p`` of them degraded (low light, haze, blur or occlusion).

    Deterministic: the same arguments give the same frames.
    """
    rng = np.random.default_rng(seed)
    frames: list[np.ndarray] = []
    labels: list[list[float]] = []
    targets: list[list[float]] = []
    masks: list[list[float]] = []
    index = 0
    while len(frames) < n:
        # rendered with 4x MSAA, as the committed labeler weights were: they still reproduce
        sim = WarehouseSim(world(rng, index), seed=int(rng.integers(2**31)), msaa=TRAINING_MSAA)
        truth = _Truth(sim)
        try:
            for _ in range(min(frames_per_world, n - len(frames))):
                pose = _robot_pose(sim, rng)
                sim.teleport(pose, _actor_poses(sim, rng, pose))
                frame = sim.camera()
                degraded = _degradation(rng, degrade_p, sim.last_glare > GLARE_ON)
                if degraded is not None:
                    frame = DEGRADE[degraded](frame, rng)
                label, target, mask = _truth(sim.last_glare, truth.pixels(), degraded)
                frames.append(jpeg_roundtrip(frame))
                labels.append(label)
                targets.append(target)
                masks.append(mask)
        finally:
            truth.close()
            sim.close()
        index += 1
    return LabeledFrames(
        np.stack(frames),
        np.asarray(labels, np.float32),
        np.asarray(masks, np.float32),
        LABELS,
        np.asarray(targets, np.float32),
    )


def shift_world(rng: np.random.Generator, index: int) -> WorldSpec:
    """A world as a simulated shift draws one for robot ``index`` (hazards by robot, as in
    :func:`robotops.sim.fleet.shift.world_for`): what the eval measures against."""
    from robotops.sim.fleet.shift import world_for
    from robotops.sim.world.specs import HAZARD_KINDS

    return world_for(index % 8, list(HAZARD_KINDS), rng, duration_s=240.0)
