"""The route controller: stops, stalls, safety stops and monitors, without any physics."""

from __future__ import annotations

from robotops.policies.controller import ControllerConfig, RouteController

ROUTE = [(0.0, 0.0), (10.0, 0.0), (10.0, 2.0), (0.0, 2.0)]


def run(ctrl: RouteController, seconds: float, **kw):
    events, cmd, t = [], None, 0.0
    for i in range(round(seconds * 20)):
        t = i / 20
        cmd = ctrl.step(
            t,
            kw.get("pose", (0.0, 0.0, 0.0)),
            kw.get("p", 0.0),
            kw.get("front", 8.0),
            kw.get("wheels", (1.0, 0.0)),
            kw.get("true", (1.0, 0.0)),
        )
        events += [e.kind for e in cmd.events]
    return cmd, events


def test_drives_toward_the_next_waypoint_when_clear():
    cmd, events = run(RouteController(ROUTE, ControllerConfig()), 1.0)
    assert cmd.v == ControllerConfig().cruise_speed and abs(cmd.w) < 1e-9
    assert events == []


def test_perceived_obstacle_stops_then_stalls_then_gets_assistance():
    cfg = ControllerConfig()
    cmd, events = run(RouteController(ROUTE, cfg), cfg.assist_after_s + 0.5, p=0.9)
    assert events.count("stall") == 1 and events.count("assist") == 1
    cmd, _ = run(RouteController(ROUTE, cfg), 2.0, p=0.9)
    assert cmd.v == 0.0


def test_safety_stop_on_range_overrides_everything():
    cmd, events = run(RouteController(ROUTE, ControllerConfig()), 0.5, front=0.2)
    assert cmd.v == 0.0 and events == ["estop"]


def test_wheel_slip_is_reported():
    _, events = run(
        RouteController(ROUTE, ControllerConfig()), 1.0, wheels=(1.0, 0.0), true=(0.2, 0.0)
    )
    assert events == ["nav_error"]


def test_steering_reversals_are_reported_as_oscillation():
    ctrl = RouteController(ROUTE, ControllerConfig())
    events = []
    for i in range(120):
        yaw = 0.4 if (i // 10) % 2 else -0.4  # heading swings either side of the route
        cmd = ctrl.step(i / 20, (0.0, 0.0, yaw), 0.0, 8.0, (1.0, 0.0), (1.0, 0.0))
        events += [e.detail for e in cmd.events]
    assert any("oscillation" in e for e in events)
