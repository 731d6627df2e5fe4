"""The simulated fleet's rollout-facing API: robots' own metrics, simulated time, faults."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from robotops.errors import FleetUnavailableError, InvalidRequestError, NotFoundError
from robotops.sim.fleet.faults import FaultRule, FleetFaults, load_faults, save_faults
from robotops.sim.fleet.models import AdvanceRequest, RobotShiftMetrics
from robotops.sim.fleet.robot_metrics import write_shift_metrics
from robotops.sim.fleet.serve import serve_in_thread
from robotops.sim.fleet.service import create_fleet_app
from robotops.sim.fleet.shift import ensure_fleet
from robotops.sim.fleet.state import FleetStore, ShiftRecord
from robotops.tools.fleet.client import FleetClient


def _add_shift(root: Path, shift_id: str, stalls: dict[str, int]) -> None:
    with FleetStore(root).update() as rec:
        rec.shifts.append(
            ShiftRecord(shift_id=shift_id, start_ns=0, duration_s=60, seed=0, hazards=[])
        )
    rows = [
        RobotShiftMetrics(
            shift_id=shift_id, robot_id=r, zone="A", policy_version="v1", hours=1 / 60, stalls=n
        )
        for r, n in stalls.items()
    ]
    write_shift_metrics(root, shift_id, rows)


def test_metrics_since_a_shift_per_robot(client: FleetClient, fleet_dir: Path) -> None:
    _add_shift(fleet_dir, "s1", {"r1": 1, "r2": 2})
    _add_shift(fleet_dir, "s2", {"r1": 3, "r2": 4})
    assert [s.shift_id for s in client.shifts()] == ["s1", "s2"]
    assert [(m.shift_id, m.robot_id, m.stalls) for m in client.metrics()] == [
        ("s1", "r1", 1),
        ("s1", "r2", 2),
        ("s2", "r1", 3),
        ("s2", "r2", 4),
    ]
    assert [m.stalls for m in client.metrics(since_shift="s1")] == [3, 4]
    assert [m.stalls for m in client.metrics(robot_id="r2")] == [2, 4]
    with pytest.raises(NotFoundError, match="unknown shift 's9'; known: s1, s2"):
        client.metrics(since_shift="s9")


def test_injected_faults_fire_in_order_and_count_down(fleet_url: str, fleet_dir: Path) -> None:
    save_faults(
        fleet_dir,
        FleetFaults(
            rules=[
                FaultRule(kind="error", path="/robots", method="GET", times=2),
                FaultRule(kind="timeout", path="/policies", delay_s=0.6),
            ],
            wrong_versions={"r2": "v9"},
        ),
    )
    with FleetClient(fleet_url, timeout_s=2, retries=1) as flaky:
        with pytest.raises(FleetUnavailableError, match="HTTP 503: injected fault error"):
            flaky.robots()
        versions = {r.robot_id: r.policy_version for r in flaky.robots()}
        assert versions == {"r1": "v1", "r2": "v9", "r3": "v1"}
        assert flaky.robot("r2").policy_version == "v9"
        assert [p.version for p in flaky.policies()] == ["v1", "v2"]  # 504, then retried
    assert [r.times for r in load_faults(fleet_dir).rules] == [0, 0]
    assert FleetStore(fleet_dir).robot("r2").policy_version == "v1"  # only the report lies


def test_publishing_weights_that_are_not_base64_is_a_clear_400(fleet_url: str) -> None:
    body = {"version": "v7", "sha256": "0" * 64, "weights_b64": "not base64!", "card": {}}
    reply = httpx.post(f"{fleet_url}/policies", json=body, timeout=5)
    assert reply.status_code == 400 and "not base64" in reply.json()["detail"]


def test_only_a_simulator_made_fleet_can_be_advanced(client: FleetClient) -> None:
    with pytest.raises(InvalidRequestError, match="only a fleet made by the simulator"):
        client.advance(AdvanceRequest(advance_id="a1", minutes=0.1))


def test_advance_runs_a_real_segment_once_and_robots_report_what_they_know(
    tmp_path: Path,
) -> None:
    store = FleetStore(tmp_path / "fleet")
    ensure_fleet(store, 2, "test-site")
    with serve_in_thread(create_fleet_app(store.root)) as url, FleetClient(url) as fleet:
        request = AdvanceRequest(advance_id="bake-1", minutes=0.15, seed=3, workers=1)
        done = fleet.advance(request)
        assert fleet.advance(request) == done  # retried: no second segment
        assert (done.shift_id, done.versions) == ("shift-001", {"101": "v1", "102": "v1"})
        assert [s.shift_id for s in fleet.shifts()] == ["shift-001"]
        rows = fleet.metrics()
    truth = json.loads((store.root / "ground_truth.json").read_text())["shifts"]["shift-001"]
    for m in rows:
        assert m.hours == pytest.approx(9 / 3600)
        assert m.zone == store.robot(m.robot_id).zone
        # counted from the robot's own scan and commands, and agreeing with the simulator's truth
        assert m.phantom_stops == truth[m.robot_id]["metrics"]["phantom_stops"]
        assert m.stalls == truth[m.robot_id]["metrics"]["stalls"]
    assert sum(m.phantom_stops for m in rows) > 0
