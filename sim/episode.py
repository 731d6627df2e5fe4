"""Run one robot with one policy in one world for a while: the unit of every shift and campaign.

The loop is fixed-rate and single-threaded (physics 500 Hz, control 20 Hz, camera 5 Hz, range
10 Hz), so the same world, policy and seed give bit-identical trajectories. A recorder, when
given, receives everything the robot's drivers would log; ground truth about hazards is kept
in the result, never in the log.
"""

from __future__ import annotations

import hashlib
import io
import math
import struct
from collections import deque
from typing import Protocol

import numpy as np
from PIL import Image
from pydantic import BaseModel, Field

from robotops.policies.controller import ControllerConfig, Event, RouteController
from robotops.policies.perception import Perception
from robotops.sim.world.mjcf import RANGE_BEAMS, WHEEL_RADIUS
from robotops.sim.world.simulator import WarehouseSim, lane_y
from robotops.sim.world.specs import LANE_X_RANGE, WorldSpec

INCIDENT_KINDS = ("stall", "estop", "collision", "nav_error")
TRUTH_WINDOW_S = 5.0  # a stall is flagged 4 s after the stop: look back past its start
FRONT_BEAMS = slice(RANGE_BEAMS // 2 - 2, RANGE_BEAMS // 2 + 3)
REAL_OBSTACLES = ("obstacle", "forklift", "person")
CAUSE_PRIORITY = {
    "stall": ("obstacle", "forklift", "person", "glare", "shadow", "oil", "latency"),
    "estop": ("obstacle", "forklift", "person", "oil", "latency", "glare", "shadow"),
    "collision": ("oil", "latency", "obstacle", "forklift", "glare", "shadow"),
    "nav_error": ("oil", "latency"),
}


class Rates(BaseModel):
    """Loop rates; physics dt comes from the world."""

    control_hz: float = 20.0
    camera_hz: float = 5.0
    scan_hz: float = 10.0
    dt: float = 0.002
    width: int = 128
    height: int = 96


class IncidentTruth(BaseModel):
    """What really happened at an incident (evals only)."""

    t: float
    kind: str
    detail: str
    cause: str
    hazards_acting: list[str]


class EpisodeResult(BaseModel):
    """Metrics of one run plus the hash that proves a replay is identical."""

    duration_s: float
    distance_m: float = 0.0
    missions: int = 0
    stalls: int = 0
    stall_time_s: float = 0.0
    phantom_stops: int = 0
    true_stops: int = 0
    estops: int = 0
    collisions: int = 0
    nav_errors: int = 0
    assists: int = 0
    min_clearance_m: float = 8.0
    steering_reversals: int = 0
    incidents: list[IncidentTruth] = Field(default_factory=list)
    trajectory_sha256: str = ""


class Recorder(Protocol):
    def image(self, t_ns: int, jpeg: bytes) -> None: ...
    def scan(
        self, t_ns: int, ranges: list[float], angle_min: float, angle_max: float, range_max: float
    ) -> None: ...
    def odom(self, t_ns: int, x: float, y: float, yaw: float, v: float, w: float) -> None: ...
    def pose(self, t_ns: int, x: float, y: float, yaw: float) -> None: ...
    def cmd_vel(self, t_ns: int, v: float, w: float) -> None: ...
    def perception(
        self, t_ns: int, probability: float, obstacle: bool, model_version: str
    ) -> None: ...
    def diagnostics(
        self, t_ns: int, name: str, level: int, message: str, values: dict[str, str]
    ) -> None: ...
    def event(
        self, t_ns: int, kind: str, severity: str, robot_id: str, zone: str, detail: str
    ) -> None: ...


def route(aisle: int) -> list[tuple[float, float]]:
    """Out along one lane, back along the other: each leg is one mission."""
    x0, x1 = LANE_X_RANGE
    out, back = lane_y(aisle, True), lane_y(aisle, False)
    return [(x0, out), (x1, out), (x1, back), (x0, back)]


def encode_jpeg(frame: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, format="JPEG", quality=85)
    return buf.getvalue()


class _Odometry:
    """Wheel odometry integrated from encoder speeds: drifts when wheels slip, as real ones do."""

    def __init__(self, x: float, y: float, yaw: float) -> None:
        self.x, self.y, self.yaw = x, y, yaw

    def update(self, v: float, w: float, dt: float) -> None:
        self.x += v * math.cos(self.yaw) * dt
        self.y += v * math.sin(self.yaw) * dt
        self.yaw += w * dt


def run_episode(
    world: WorldSpec,
    perception: Perception,
    seed: int,
    duration_s: float,
    start_ns: int = 0,
    robot_id: str = "sim",
    zone: str = "",
    rates: Rates | None = None,
    controller: ControllerConfig | None = None,
    recorder: Recorder | None = None,
) -> EpisodeResult:
    """Simulate ``duration_s`` seconds; record to ``recorder`` if given."""
    rates = rates or Rates()
    sim = WarehouseSim(world, seed, rates.dt, rates.width, rates.height)
    try:
        return EpisodeLoop(
            sim,
            perception,
            rates,
            controller or ControllerConfig(),
            recorder,
            robot_id,
            zone,
            start_ns,
        ).run(duration_s)
    finally:
        sim.close()


class EpisodeLoop:
    """The per-tick work of an episode, split into small steps; scenarios extend it."""

    def __init__(
        self,
        sim: WarehouseSim,
        perception: Perception,
        rates: Rates,
        cfg: ControllerConfig,
        recorder: Recorder | None,
        robot_id: str,
        zone: str,
        start_ns: int,
        waypoints: list[tuple[float, float]] | None = None,
    ) -> None:
        self.sim, self.perception, self.rates, self.rec = sim, perception, rates, recorder
        self.robot_id, self.zone, self.start_ns = robot_id, zone, start_ns
        self.ctrl = RouteController(waypoints or route(sim.spec.aisle), cfg)
        self.frame: np.ndarray | None = None  # the last frame the policy saw
        self.done = False  # a scenario ends early at its goal; a shift never does
        s = sim.state()
        self.odom = _Odometry(s.x, s.y, s.yaw)
        self.result = EpisodeResult(duration_s=0.0)
        self.hash = hashlib.sha256()
        self.recent: deque[tuple[float, frozenset[str]]] = deque()
        self.obstacle_p = 0.0
        self.stopping = False
        self.last_collision = -1e9
        self.last_turn_sign = 0.0

    def t_ns(self) -> int:
        return self.start_ns + round(self.sim.time * 1e9)

    def run(self, duration_s: float) -> EpisodeResult:
        period = 1.0 / self.rates.control_hz
        cam_every = max(1, round(self.rates.control_hz / self.rates.camera_hz))
        scan_every = max(1, round(self.rates.control_hz / self.rates.scan_hz))
        ticks = round(duration_s * self.rates.control_hz)
        done_ticks = ticks
        for tick in range(ticks):
            if self.done:
                done_ticks = tick
                break
            if tick % cam_every == 0:
                self._camera()
            ranges = self.sim.ranges()
            if tick % scan_every == 0 and self.rec:
                lo, hi = self.sim.range_angles()
                self.rec.scan(self.t_ns(), [float(r) for r in ranges], lo, hi, 8.0)
            self._control(ranges, period)
            if tick % round(self.rates.control_hz) == 0:
                self._diagnostics()
            self.sim.step(period)
        self.result.duration_s = round(done_ticks * period, 6)
        self.result.trajectory_sha256 = self.hash.hexdigest()
        return self.result

    def _camera(self) -> None:
        frame = self.frame = self.sim.camera()
        self.obstacle_p = self.perception.obstacle_probability(frame)
        if self.rec:
            t = self.t_ns()
            self.rec.image(t, encode_jpeg(frame))
            self.rec.perception(
                t,
                self.obstacle_p,
                self.obstacle_p >= self.ctrl.cfg.stop_probability,
                self.perception.version,
            )

    def _control(self, ranges: np.ndarray, period: float) -> None:
        s = self.sim.state()
        wl, wr = self.sim.wheel_speeds()
        v_wheels, w_wheels = (wl + wr) * WHEEL_RADIUS / 2, (wr - wl) * WHEEL_RADIUS / 0.5
        self.odom.update(v_wheels, w_wheels, period)
        acting = frozenset(self.sim.hazards_acting())
        self.recent.append((self.sim.time, acting))
        while self.recent and self.sim.time - self.recent[0][0] > TRUTH_WINDOW_S:
            self.recent.popleft()
        front = float(np.min(ranges[FRONT_BEAMS]))
        cmd = self.ctrl.step(
            self.sim.time,
            (s.x, s.y, s.yaw),
            self.obstacle_p,
            front,
            (v_wheels, w_wheels),
            (s.v, s.w),
        )
        if cmd.assist_started:
            self.sim.clear_obstacles_near()
        self._account(s.v, cmd.w, acting, float(np.min(ranges)), period, cmd.v)
        events = cmd.events + self._collisions()
        for ev in events:
            self._event(ev)
        self.sim.command(cmd.v, cmd.w)
        if self.rec:
            t = self.t_ns()
            self.rec.cmd_vel(t, cmd.v, cmd.w)
            self.rec.odom(t, self.odom.x, self.odom.y, self.odom.yaw, v_wheels, w_wheels)
            if round(self.sim.time * self.rates.control_hz) % 2 == 0:
                self.rec.pose(t, s.x, s.y, s.yaw)
        self.hash.update(struct.pack("<5d", s.x, s.y, s.yaw, cmd.v, cmd.w))

    def _account(
        self,
        v_true: float,
        w_cmd: float,
        acting: frozenset[str],
        clearance: float,
        period: float,
        v_cmd: float = 0.0,
    ) -> None:
        r = self.result
        r.distance_m += abs(v_true) * period
        r.min_clearance_m = min(r.min_clearance_m, clearance)
        stopping = self.ctrl.stopped_since is not None
        if stopping:
            r.stall_time_s += period
        if stopping and not self.stopping:
            if acting & set(REAL_OBSTACLES):
                r.true_stops += 1
            else:
                r.phantom_stops += 1
        self.stopping = stopping
        if abs(w_cmd) > 0.3:
            if self.last_turn_sign * w_cmd < 0:
                r.steering_reversals += 1
            self.last_turn_sign = math.copysign(1.0, w_cmd)

    def _collisions(self) -> list[Event]:
        hits = self.sim.contacts()
        if hits and self.sim.time - self.last_collision > 5.0:
            self.last_collision = self.sim.time
            return [Event("collision", "error", f"contact with {', '.join(hits)}")]
        return []

    def _event(self, ev: Event) -> None:
        r = self.result
        counters = {
            "stall": "stalls",
            "estop": "estops",
            "collision": "collisions",
            "nav_error": "nav_errors",
            "assist": "assists",
            "mission_complete": "missions",
        }
        if ev.kind in counters:
            setattr(r, counters[ev.kind], getattr(r, counters[ev.kind]) + 1)
        if ev.kind in INCIDENT_KINDS:
            seen = sorted(set().union(*(a for _, a in self.recent)))
            cause = next((c for c in CAUSE_PRIORITY[ev.kind] if c in seen), "unknown")
            r.incidents.append(
                IncidentTruth(
                    t=round(self.sim.time, 3),
                    kind=ev.kind,
                    detail=ev.detail,
                    cause=cause,
                    hazards_acting=seen,
                )
            )
        if self.rec:
            self.rec.event(self.t_ns(), ev.kind, ev.severity, self.robot_id, self.zone, ev.detail)

    def _diagnostics(self) -> None:
        if not self.rec:
            return
        wl, wr = self.sim.wheel_speeds()
        self.rec.diagnostics(
            self.t_ns(),
            "drive",
            0,
            "ok",
            {
                "left_wheel_rad_s": f"{wl:.3f}",
                "right_wheel_rad_s": f"{wr:.3f}",
                "obstacle_probability": f"{self.obstacle_p:.3f}",
                "motor_controller": self.sim.motor_controller,
            },
        )
