"""Run one scenario under one policy: the episode loop with a start, a goal and campaign metrics.

The loop is the shift's own (:class:`~robotops.sim.episode.EpisodeLoop`), so a scenario sees
the same physics, camera, perception and controller a robot on shift does; it only starts where
the scenario says, drives its lane to the goal (and across into the return lane when asked),
ends there, and measures more.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel

from robotops.errors import RobotOpsError
from robotops.policies.controller import ControllerConfig, Event
from robotops.policies.perception import Perception
from robotops.sim.campaign.models import CLEARANCE_CAP_M, RunMetrics
from robotops.sim.episode import EpisodeLoop, Rates, Recorder
from robotops.sim.scenarios.spec import ScenarioSpec
from robotops.sim.world.simulator import WarehouseSim, lane_y


class SimulationDivergedError(RobotOpsError):
    """The physics produced a non-finite state: the run is void, not a policy failure."""


class ScenarioOutcome(BaseModel):
    """What one scenario run measured, and the hash that proves a replay is identical."""

    metrics: RunMetrics
    trajectory_sha256: str
    failure_time_s: float | None = None
    sim_time_s: float


def waypoints(spec: ScenarioSpec) -> list[tuple[float, float]]:
    """Start, goal on the same lane, and with ``turn_at_goal`` the return lane across from it."""
    y = lane_y(spec.world.aisle, spec.outbound)
    points = [(spec.start_x, y), (spec.goal(), y)]
    if spec.turn_at_goal:
        points.append((spec.goal(), lane_y(spec.world.aisle, not spec.outbound)))
    return points


class ScenarioLoop(EpisodeLoop):
    """The episode loop plus goal, clearance, jerk and first-failure bookkeeping."""

    def __init__(
        self,
        sim: WarehouseSim,
        spec: ScenarioSpec,
        perception: Perception,
        rates: Rates,
        cfg: ControllerConfig,
        recorder: Recorder | None,
    ) -> None:
        super().__init__(
            sim, perception, rates, cfg, recorder, "sim", spec.family, 0, waypoints(spec)
        )
        self.reached_at: float | None = None
        self.legs_left = len(self.ctrl.waypoints) - 1
        self.first: dict[str, float] = {}
        self.people_m = self.things_m = CLEARANCE_CAP_M
        self.v_prev: float | None = None
        self.a_prev: float | None = None
        self.jerk_sq, self.jerk_n = 0.0, 0

    def _account(
        self,
        v_true: float,
        w_cmd: float,
        acting: frozenset[str],
        clearance: float,
        period: float,
        v_cmd: float = 0.0,
    ) -> None:
        super()._account(v_true, w_cmd, acting, clearance, period, v_cmd)
        s = self.sim.state()
        if not all(math.isfinite(v) for v in (s.x, s.y, s.yaw, s.v, s.w)):
            raise SimulationDivergedError(f"non-finite robot state at t={self.sim.time:.2f} s")
        people, things = self.sim.clearances(CLEARANCE_CAP_M)
        self.people_m, self.things_m = min(self.people_m, people), min(self.things_m, things)
        self._jerk(v_cmd, period)

    def _jerk(self, v_cmd: float, period: float) -> None:
        """Jerk of the commanded speed: the policy's abruptness, free of contact chatter."""
        if self.v_prev is not None:
            a = (v_cmd - self.v_prev) / period
            if self.a_prev is not None:
                self.jerk_sq += ((a - self.a_prev) / period) ** 2
                self.jerk_n += 1
            self.a_prev = a
        self.v_prev = v_cmd

    def _event(self, ev: Event) -> None:
        super()._event(ev)
        t = self.sim.time
        if ev.kind == "stall" and self.ctrl.stopped_since is not None:
            t = self.ctrl.stopped_since  # the moment it stopped: the frame that made it stop
        self.first.setdefault(ev.kind, t)
        if ev.kind == "mission_complete":
            self.legs_left -= 1
            if self.legs_left == 0:
                self.reached_at, self.done = self.sim.time, True

    def outcome(self) -> ScenarioOutcome:
        r = self.result
        metrics = RunMetrics(
            reached_goal=self.reached_at is not None,
            time_to_goal_s=None if self.reached_at is None else round(self.reached_at, 3),
            stall_time_s=round(r.stall_time_s, 3),
            stalls=r.stalls,
            phantom_stops=r.phantom_stops,
            true_stops=r.true_stops,
            estops=r.estops,
            collisions=r.collisions,
            nav_errors=r.nav_errors,
            min_clearance_people_m=round(self.people_m, 4),
            min_clearance_obstacles_m=round(self.things_m, 4),
            steering_reversals=r.steering_reversals,
            jerk_rms=round(math.sqrt(self.jerk_sq / self.jerk_n), 4) if self.jerk_n else 0.0,
            distance_m=round(r.distance_m, 3),
        )
        failure = next(
            (self.first[k] for k in ("collision", "stall", "estop") if k in self.first), None
        )
        return ScenarioOutcome(
            metrics=metrics,
            trajectory_sha256=r.trajectory_sha256,
            failure_time_s=None if failure is None else round(failure, 3),
            sim_time_s=r.duration_s,
        )


def _loop(
    spec: ScenarioSpec,
    perception: Perception,
    seed: int | None,
    controller: ControllerConfig | None,
    rates: Rates,
    recorder: Recorder | None,
) -> tuple[WarehouseSim, ScenarioLoop]:
    sim = WarehouseSim(
        spec.world, spec.seed if seed is None else seed, rates.dt, rates.width, rates.height
    )
    yaw = 0.0 if spec.outbound else math.pi
    sim.teleport((spec.start_x, lane_y(spec.world.aisle, spec.outbound), yaw), {})
    loop = ScenarioLoop(sim, spec, perception, rates, controller or ControllerConfig(), recorder)
    return sim, loop


def run_scenario(
    spec: ScenarioSpec,
    perception: Perception,
    seed: int | None = None,
    controller: ControllerConfig | None = None,
    rates: Rates | None = None,
    recorder: Recorder | None = None,
) -> ScenarioOutcome:
    """Drive the scenario until the goal or ``spec.duration_s``; ``seed`` defaults to the spec's."""
    sim, loop = _loop(spec, perception, seed, controller, rates or Rates(), recorder)
    try:
        loop.run(spec.duration_s)
        return loop.outcome()
    finally:
        sim.close()


def scenario_frame(
    spec: ScenarioSpec,
    perception: Perception,
    t_s: float,
    seed: int | None = None,
    controller: ControllerConfig | None = None,
    rates: Rates | None = None,
) -> np.ndarray:
    """Replay to sim time ``t_s`` and return the last camera frame the policy saw by then."""
    rates = rates or Rates()
    sim, loop = _loop(spec, perception, seed, controller, rates, None)
    try:
        loop.run(min(max(t_s, 0.0), spec.duration_s) + 1.0 / rates.control_hz)
        if loop.frame is None:
            raise RobotOpsError(f"scenario {spec.scenario_id}: no frame rendered by t={t_s} s")
        return loop.frame
    finally:
        sim.close()
