"""The robot's controller: follow the route, stop for obstacles, and say when something is wrong.

A waypoint follower (heading-proportional steering) that stops when perception reports an
obstacle, an independent safety stop on the range scan, stall detection with operator
assistance, and monitors for wheel slip and heading oscillation. Events it raises are what a
real robot would log: it knows *that* it stalled, not *why*.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from pydantic import BaseModel


class ControllerConfig(BaseModel):
    """Tunable controller parameters."""

    cruise_speed: float = 1.0
    heading_gain: float = 2.5
    max_turn_rate: float = 1.2
    waypoint_radius: float = 0.4
    stop_probability: float = 0.5
    estop_range: float = 0.4
    stall_after_s: float = 4.0
    assist_after_s: float = 12.0
    assist_duration_s: float = 3.0
    assist_speed: float = 0.4
    slip_ratio: float = 0.5
    slip_hold_s: float = 0.5
    oscillation_reversals: int = 4
    oscillation_window_s: float = 6.0
    event_cooldown_s: float = 10.0


@dataclass
class Event:
    """Something the robot reports on its events channel."""

    kind: str
    severity: str
    detail: str


@dataclass
class Command:
    v: float
    w: float
    events: list[Event] = field(default_factory=list)
    assist_started: bool = False


def wrap(angle: float) -> float:
    return (angle + math.pi) % (2 * math.pi) - math.pi


class RouteController:
    """Drives a loop of waypoints; one call per control tick."""

    def __init__(self, waypoints: list[tuple[float, float]], config: ControllerConfig) -> None:
        self.waypoints = waypoints
        self.cfg = config
        self.target = 1
        self.stopped_since: float | None = None
        self.stall_reported = False
        self.assist_until = -1.0
        self.estopped = False
        self.slip_since: float | None = None
        self.turns: deque[tuple[float, float]] = deque()
        self.last_event: dict[str, float] = {}
        self.mission_started = 0.0

    def _cooldown_ok(self, key: str, t: float) -> bool:
        if t - self.last_event.get(key, -1e9) < self.cfg.event_cooldown_s:
            return False
        self.last_event[key] = t
        return True

    def _steer(
        self, x: float, y: float, yaw: float, t: float, events: list[Event]
    ) -> tuple[float, float]:
        tx, ty = self.waypoints[self.target]
        if math.hypot(tx - x, ty - y) < self.cfg.waypoint_radius:
            events.append(
                Event(
                    "mission_complete",
                    "info",
                    f"reached waypoint {self.target} in {t - self.mission_started:.1f} s",
                )
            )
            self.mission_started = t
            self.target = (self.target + 1) % len(self.waypoints)
            tx, ty = self.waypoints[self.target]
        err = wrap(math.atan2(ty - y, tx - x) - yaw)
        w = max(-self.cfg.max_turn_rate, min(self.cfg.max_turn_rate, self.cfg.heading_gain * err))
        v = self.cfg.cruise_speed * max(0.0, math.cos(err)) if abs(err) < 0.8 else 0.0
        return v, w

    def _slipping(self, wheels: tuple[float, float], true: tuple[float, float]) -> bool:
        """Encoders and localisation disagree on forward or turning speed."""
        return any(
            abs(a) > floor and abs(a - b) / abs(a) > self.cfg.slip_ratio
            for a, b, floor in ((wheels[0], true[0], 0.2), (wheels[1], true[1], 0.3))
        )

    def _monitor(
        self,
        t: float,
        w_cmd: float,
        wheels: tuple[float, float],
        true: tuple[float, float],
        events: list[Event],
    ) -> None:
        """Wheel slip (encoders vs. localisation) and heading oscillation (command reversals)."""
        slipping = self._slipping(wheels, true)
        v_wheels, v_true = wheels[0], true[0]
        self.slip_since = (
            (self.slip_since if self.slip_since is not None else t) if slipping else None
        )
        held = self.slip_since is not None and t - self.slip_since >= self.cfg.slip_hold_s
        if held and self._cooldown_ok("slip", t):
            detail = f"wheel slip: encoders {v_wheels:.2f} m/s, localisation {v_true:.2f} m/s"
            events.append(Event("nav_error", "error", detail))
        if abs(w_cmd) > 0.3:
            sign = math.copysign(1.0, w_cmd)
            if not self.turns or self.turns[-1][1] != sign:
                self.turns.append((t, sign))
        while self.turns and t - self.turns[0][0] > self.cfg.oscillation_window_s:
            self.turns.popleft()
        if len(self.turns) >= self.cfg.oscillation_reversals and self._cooldown_ok("osc", t):
            events.append(
                Event(
                    "nav_error",
                    "error",
                    f"heading oscillation: {len(self.turns)} steering reversals in "
                    f"{self.cfg.oscillation_window_s:.0f} s",
                )
            )

    def step(
        self,
        t: float,
        pose: tuple[float, float, float],
        obstacle_p: float,
        front_range: float,
        wheels: tuple[float, float],
        true: tuple[float, float],
    ) -> Command:
        """Decide the next velocity command from localisation, perception and range."""
        x, y, yaw = pose
        events: list[Event] = []
        v, w = self._steer(x, y, yaw, t, events)
        assisting = t < self.assist_until
        if front_range < self.cfg.estop_range:
            if not self.estopped:
                self.estopped = True
                events.append(
                    Event("estop", "error", f"safety stop: object at {front_range:.2f} m")
                )
            return Command(0.0, 0.0, events)
        self.estopped = False
        if obstacle_p >= self.cfg.stop_probability and not assisting and v > 0:
            self.stopped_since = t if self.stopped_since is None else self.stopped_since
            held = t - self.stopped_since
            if held >= self.cfg.stall_after_s and not self.stall_reported:
                self.stall_reported = True
                events.append(
                    Event(
                        "stall", "warn", f"stopped {held:.1f} s for obstacle (p={obstacle_p:.2f})"
                    )
                )
            if held >= self.cfg.assist_after_s:
                self.assist_until = t + self.cfg.assist_duration_s
                events.append(Event("assist", "info", "operator assistance: cleared to proceed"))
                self.stopped_since, self.stall_reported = None, False
                return Command(0.0, 0.0, events, assist_started=True)
            return Command(0.0, 0.0, events)
        self.stopped_since, self.stall_reported = None, False
        if assisting:
            v = min(v, self.cfg.assist_speed)
        self._monitor(t, w, wheels, true, events)
        return Command(v, w, events)
