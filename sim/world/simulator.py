"""One robot in its MuJoCo warehouse: physics, actuators, actors, sensors and ground truth.

The robot is driven through its wheel velocity actuators (real contact and friction, so oil
makes the wheels slip); a latency hazard delays commands inside the motor controller. The
simulator exposes what a robot's drivers would: camera frames, a planar range scan, wheel
speeds, a localisation pose, and contacts. Ground truth (which hazard is acting now) is kept
apart for evals.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass

import mujoco
import numpy as np

from robotops.sim.world import actors
from robotops.sim.world.camera import (
    GlareSource,
    apply_sensor_model,
    glare_strength,
    project,
    visible,
)
from robotops.sim.world.mjcf import RANGE_BEAMS, RANGE_FOV_DEG, WHEEL_BASE, WHEEL_RADIUS, build_mjcf
from robotops.sim.world.specs import AISLE_CENTERS_Y, WorldSpec

PARKED_Z = -5.0
NON_OBSTACLE_GEOMS = ("floor", "oil")


@dataclass(frozen=True)
class RobotState:
    """Where the robot is and how it moves (true values)."""

    x: float
    y: float
    yaw: float
    v: float
    w: float


class WarehouseSim:
    """A steppable warehouse world around one robot."""

    def __init__(
        self,
        spec: WorldSpec,
        seed: int,
        dt: float = 0.002,
        width: int = 128,
        height: int = 96,
        msaa: int = 0,
    ) -> None:
        self.spec = spec
        self.model = mujoco.MjModel.from_xml_string(build_mjcf(spec, dt, width, height, msaa))
        self.data = mujoco.MjData(self.model)
        self.width, self.height = width, height
        self.rng = np.random.default_rng(seed)
        self._renderer: mujoco.Renderer | None = None
        latency = spec.hazard("latency")
        self.latency_s = latency[0].latency_s if latency else 0.0
        # a laggy controller is the new hardware revision: the robot reports its model, not its lag
        self.motor_controller = "MC-200 fw 3.1" if latency else "MC-100 fw 2.4"
        self._pending: collections.deque[tuple[float, float, float]] = collections.deque()
        self._applied = (0.0, 0.0)
        self._cleared: set[int] = set()
        self._forklift_travel = [0.0] * len(spec.forklifts)
        self.last_glare = 0.0
        self._clearance_geoms: tuple[list[int], list[int]] | None = None
        m = self.model
        self.robot_body = m.body("robot").id
        self.cam_id = m.camera("front").id
        self.qvel_left = m.jnt_dofadr[m.joint("left").id]
        self.qvel_right = m.jnt_dofadr[m.joint("right").id]
        self.robot_geoms = {g for g in range(m.ngeom) if self._is_robot_geom(g)}
        self.ignored_geoms = {m.geom(n).id for n in NON_OBSTACLE_GEOMS if self._has_geom(n)}
        self._place_actors()

    # -- construction helpers -------------------------------------------------------------
    def _has_geom(self, name: str) -> bool:
        return mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_GEOM, name) >= 0

    def _is_robot_geom(self, geom: int) -> bool:
        body = self.model.geom_bodyid[geom]
        while body != 0:
            if body == self.robot_body:
                return True
            body = self.model.body_parentid[body]
        return False

    def _set_mocap(self, body_name: str, pose: actors.Pose2D | None) -> None:
        mocap = self.model.body(body_name).mocapid[0]
        if pose is None:
            self.data.mocap_pos[mocap] = (0.0, 60.0 + mocap, PARKED_Z)
            return
        x, y, yaw = pose
        self.data.mocap_pos[mocap] = (x, y, 0.0)
        self.data.mocap_quat[mocap] = (math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2))

    def _place_actors(self) -> None:
        t, aisle = self.time, self.spec.aisle
        for i, f in enumerate(self.spec.forklifts):
            self._set_mocap(
                f"forklift_{i}", actors.forklift_pose(f, aisle, self._forklift_travel[i])
            )
        for i, w in enumerate(self.spec.workers):
            self._set_mocap(f"worker_{i}", actors.worker_pose(w, aisle))
        for i, g in enumerate(self.spec.hazard("glare")):
            self._set_mocap(f"glare_worker_{i}", actors.glare_worker_pose(g, aisle))
        for i, o in enumerate(self.spec.hazard("obstacle")):
            on = actors.obstacle_active(o, t) and i not in self._cleared
            self._set_mocap(f"obstacle_{i}", actors.obstacle_pose(o, aisle) if on else None)
        mujoco.mj_forward(self.model, self.data)  # sensors and renders see the actors' new places

    # -- stepping ---------------------------------------------------------------------------
    @property
    def time(self) -> float:
        return float(self.data.time)

    def command(self, v: float, w: float) -> None:
        """Send a body velocity command to the motor controller (applied after its latency)."""
        self._pending.append((self.time + self.latency_s, v, w))

    def step(self, duration: float) -> None:
        """Advance physics by ``duration`` seconds, applying due commands and moving actors."""
        n = max(1, round(duration / self.model.opt.timestep))
        for _ in range(n):
            while self._pending and self._pending[0][0] <= self.time + 1e-9:
                _, v, w = self._pending.popleft()
                self._applied = (v, w)
            v, w = self._applied
            self.data.ctrl[0] = (v - w * WHEEL_BASE / 2) / WHEEL_RADIUS
            self.data.ctrl[1] = (v + w * WHEEL_BASE / 2) / WHEEL_RADIUS
            mujoco.mj_step(self.model, self.data)
        self._drive_forklifts(n * self.model.opt.timestep)
        self._place_actors()

    def _drive_forklifts(self, dt: float) -> None:
        """Forklift drivers hold when the robot is in front of their forks; otherwise drive on."""
        s = self.state()
        for i, f in enumerate(self.spec.forklifts):
            fx, fy, fyaw = actors.forklift_pose(f, self.spec.aisle, self._forklift_travel[i])
            ahead = (s.x - fx) * math.cos(fyaw) + (s.y - fy) * math.sin(fyaw)
            lateral = -(s.x - fx) * math.sin(fyaw) + (s.y - fy) * math.cos(fyaw)
            if not (0.0 < ahead < 3.0 and abs(lateral) < 1.2):
                self._forklift_travel[i] += f.speed * dt

    # -- sensors ----------------------------------------------------------------------------
    def state(self) -> RobotState:
        qpos, qvel = self.data.qpos, self.data.qvel
        qw, qx, qy, qz = qpos[3:7]
        yaw = math.atan2(2 * (qw * qz + qx * qy), 1 - 2 * (qy * qy + qz * qz))
        v = qvel[0] * math.cos(yaw) + qvel[1] * math.sin(yaw)
        return RobotState(float(qpos[0]), float(qpos[1]), yaw, float(v), float(qvel[5]))

    def wheel_speeds(self) -> tuple[float, float]:
        """Measured wheel angular velocities (rad/s), what the encoders report."""
        return float(self.data.qvel[self.qvel_left]), float(self.data.qvel[self.qvel_right])

    def ranges(self, noise_std: float | None = None) -> np.ndarray:
        """Planar range scan, m; no return reads as the cutoff (8 m)."""
        raw = np.array(self.data.sensordata[:RANGE_BEAMS], dtype=np.float64)
        raw[raw < 0] = 8.0
        std = self.spec.sensor_noise if noise_std is None else noise_std
        return np.clip(raw + self.rng.normal(0.0, std, raw.shape), 0.05, 8.0)

    @staticmethod
    def range_angles() -> tuple[float, float]:
        half = math.radians(RANGE_FOV_DEG / 2)
        return -half, half

    def _glare_sources(self) -> list[GlareSource]:
        cam_pos = self.data.cam_xpos[self.cam_id].copy()
        cam_mat = self.data.cam_xmat[self.cam_id]
        fovy = float(self.model.cam_fovy[self.cam_id])
        out = []
        for i, g in enumerate(self.spec.hazard("glare")):
            body = self.model.body(f"glare_worker_{i}").id
            x, y, yaw = actors.glare_worker_pose(g, self.spec.aisle)
            point = np.array([x, y, 1.12])
            pix = project(point, cam_pos, cam_mat, fovy, self.width, self.height)
            if pix is None or not (
                -20 <= pix[0] <= self.width + 20 and -20 <= pix[1] <= self.height + 20
            ):
                continue
            if not visible(self.model, self.data, cam_pos, point, body, self.robot_body):
                continue
            s = glare_strength(g.intensity, yaw, point, cam_pos)
            if s > 0.02:
                out.append(GlareSource(pix[0], pix[1], s))
        return out

    def camera(self) -> np.ndarray:
        """An RGB frame (H, W, 3) uint8 from the front camera, through the sensor model."""
        if self._renderer is None:
            self._renderer = mujoco.Renderer(self.model, self.height, self.width)
            self._scene_option = mujoco.MjvOption()
            self._scene_option.flags[mujoco.mjtVisFlag.mjVIS_RANGEFINDER] = 0  # rays are not light
            self._scene_option.sitegroup[:] = 0
        self._renderer.update_scene(self.data, camera=self.cam_id, scene_option=self._scene_option)
        rgb = self._renderer.render()
        sources = self._glare_sources()
        self.last_glare = sum(s.strength for s in sources)
        return apply_sensor_model(rgb, sources, self.rng)

    def contacts(self) -> list[str]:
        """Names (or body names) of things the robot is touching, floor excluded."""
        hits = []
        for c in self.data.contact[: self.data.ncon]:
            g1, g2 = int(c.geom1), int(c.geom2)
            if (g1 in self.robot_geoms) == (g2 in self.robot_geoms):
                continue
            other = g2 if g1 in self.robot_geoms else g1
            if other in self.ignored_geoms:
                continue
            name = (
                self.model.geom(other).name or self.model.body(self.model.geom_bodyid[other]).name
            )
            hits.append(name)
        return sorted(set(hits))

    # -- ground truth (evals only) ------------------------------------------------------------
    def hazards_acting(self) -> set[str]:
        """Which hazards act on the robot right now; never written into the robot's log."""
        s = self.state()
        heading = 1.0 if math.cos(s.yaw) >= 0 else -1.0
        acting = set()
        if self.last_glare > 0.3:
            acting.add("glare")
        for h in self.spec.hazard("shadow"):
            if -h.width / 2 - 0.3 < (h.x - s.x) * heading < 12.0:  # in the camera's view
                acting.add("shadow")
        for h in self.spec.hazard("oil"):  # on it (slip) or in view ahead (a dark, glossy patch)
            if -h.length / 2 - 2.0 < (h.x - s.x) * heading < h.length / 2 + 6.0:
                acting.add("oil")
        if self.latency_s > 0.2:
            acting.add("latency")
        for i, h in enumerate(self.spec.hazard("obstacle")):
            if actors.obstacle_active(h, self.time) and i not in self._cleared:
                ox, oy, _ = actors.obstacle_pose(h, self.spec.aisle)
                if 0.0 < (ox - s.x) * heading < 3.5 and abs(oy - s.y) < 1.0:
                    acting.add("obstacle")
        for i, f in enumerate(self.spec.forklifts):
            fx, fy, _ = actors.forklift_pose(f, self.spec.aisle, self._forklift_travel[i])
            ahead = (fx - s.x) * math.cos(s.yaw) + (fy - s.y) * math.sin(s.yaw)
            lateral = -(fx - s.x) * math.sin(s.yaw) + (fy - s.y) * math.cos(s.yaw)
            if 0.0 < ahead < 3.5 and abs(lateral) < 1.5:
                acting.add("forklift")
        for w in self.spec.workers:
            wx, wy, _ = actors.worker_pose(w, self.spec.aisle)
            if w.in_lane and 0.0 < (wx - s.x) * heading < 3.5 and abs(wy - s.y) < 1.0:
                acting.add("person")
        return acting

    def clearances(self, cap: float = 8.0) -> tuple[float, float]:
        """Closest distance (m, capped) from the robot's chassis to any person, and to anything
        else solid (pallets, forklifts, shelves); for campaign metrics, not the robot's sensors."""
        if self._clearance_geoms is None:
            self._clearance_geoms = self._solid_geoms()
        chassis = self.model.geom("chassis").id
        people, things = self._clearance_geoms
        out = []
        for group in (people, things):
            dists = [
                mujoco.mj_geomDistance(self.model, self.data, chassis, g, cap, None) for g in group
            ]
            out.append(min([cap, *dists]))
        return out[0], out[1]

    def _solid_geoms(self) -> tuple[list[int], list[int]]:
        """Collidable geoms that are not the robot or the floor, split into people and things."""
        m = self.model
        people: list[int] = []
        things: list[int] = []
        for g in range(m.ngeom):
            if g in self.robot_geoms or g in self.ignored_geoms:
                continue
            if m.geom_contype[g] == 0 and m.geom_conaffinity[g] == 0:
                continue
            body = m.body(m.geom_bodyid[g]).name
            (people if body.startswith(("worker_", "glare_worker_")) else things).append(g)
        return people, things

    def teleport(
        self, pose: tuple[float, float, float], actor_poses: dict[str, actors.Pose2D | None]
    ) -> None:
        """Put the robot and named mocap actors somewhere directly (for rendering datasets)."""
        x, y, yaw = pose
        self.data.qpos[0:3] = (x, y, WHEEL_RADIUS)
        self.data.qpos[3:7] = (math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2))
        self.data.qvel[:] = 0.0
        for name, p in actor_poses.items():
            self._set_mocap(name, p)
        mujoco.mj_forward(self.model, self.data)

    def clear_obstacles_near(self, radius: float = 4.0) -> bool:
        """An operator removes a real pallet near the robot (what remote assistance does)."""
        s, cleared = self.state(), False
        for i, h in enumerate(self.spec.hazard("obstacle")):
            ox, oy, _ = actors.obstacle_pose(h, self.spec.aisle)
            if actors.obstacle_active(h, self.time) and math.hypot(ox - s.x, oy - s.y) < radius:
                self._cleared.add(i)
                cleared = True
        self._place_actors()
        return cleared

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None


def lane_y(aisle: int, outbound: bool) -> float:
    """The y of the outbound (+x) or return (-x) lane of an aisle."""
    from robotops.sim.world.specs import LANE_OFFSET

    return AISLE_CENTERS_Y[aisle] + (-LANE_OFFSET if outbound else LANE_OFFSET)
