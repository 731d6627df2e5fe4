"""``shift_figures`` on a hand-made shift: every figure is checked against numbers worked out by
hand, so a wrong sum, rate or cause join fails here rather than hiding inside the demo test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from robotops.demo.figures import change_pct, shift_figures
from robotops.errors import NotFoundError


def _incident(iid: str, robot: str, kind: str) -> dict:
    return {
        "incident_id": iid,
        "robot_id": robot,
        "kind": kind,
        "time_ns": 1,
        "zone": "A",
        "log_name": f"{robot}.mcap",
        "policy_version": "v1",
    }


def _robot(stalls: int, missions: int, estops: int = 0, collisions: int = 0) -> dict:
    return {
        "distance_m": 10.0,
        "missions": missions,
        "stalls": stalls,
        "stall_time_s": 1.0,
        "estops": estops,
        "collisions": collisions,
        "nav_errors": 0,
        "assists": 0,
    }


@pytest.fixture
def fleet_dir(tmp_path: Path) -> Path:
    """Two robots for half an hour each (1 robot-hour): 3 stalls, of which one glare and one
    shadow by the truth; a laggy stall, an e-stop that is not a stall, and one unknown cause."""
    (tmp_path / "shifts").mkdir()
    summary = {
        "shift_id": "s1",
        "fleet_dir": str(tmp_path),
        "robots": 2,
        "duration_s": 1800.0,
        "incidents": [
            _incident("s1-101-01", "101", "stall"),
            _incident("s1-101-02", "101", "stall"),
            _incident("s1-102-01", "102", "stall"),
            _incident("s1-102-02", "102", "estop"),
            _incident("s1-102-03", "102", "stall"),
        ],
        "per_robot": {"101": _robot(2, 7), "102": _robot(2, 5, estops=1, collisions=1)},
        "bytes_logged": 12345,
    }
    (tmp_path / "shifts" / "s1.json").write_text(json.dumps(summary))
    truth = {
        "incidents": {
            "s1-101-01": {"cause": "glare"},
            "s1-101-02": {"cause": "laggy_controller"},
            "s1-102-01": {"cause": "shadow"},
            "s1-102-02": {"cause": "glare"},  # a glare e-stop is not a glare stall
        },
        "shifts": {
            "s1": {
                "101": {"policy_version": "v1", "metrics": {"phantom_stops": 2}},
                "102": {"policy_version": "v2", "metrics": {"phantom_stops": 1}},
            }
        },
    }
    (tmp_path / "ground_truth.json").write_text(json.dumps(truth))
    return tmp_path


def test_figures_of_a_hand_made_shift(fleet_dir: Path) -> None:
    f = shift_figures(fleet_dir, "s1")
    assert f.robot_hours == 1.0
    assert f.stalls == 4 and f.stalls_per_robot_hour == 4.0
    assert f.glare_shadow_stalls == 2 and f.glare_shadow_stalls_per_robot_hour == 2.0
    assert f.phantom_stops == 3
    assert (f.estops, f.collisions, f.missions) == (1, 1, 12)
    assert f.missions_per_robot_hour == 12.0
    assert f.bytes_logged == 12345
    assert f.policy_versions == ["v1", "v2"]
    assert f.incidents_by_cause == {"glare": 2, "laggy_controller": 1, "shadow": 1, "unknown": 1}


def test_rates_scale_with_robot_hours(fleet_dir: Path) -> None:
    path = fleet_dir / "shifts" / "s1.json"
    summary = json.loads(path.read_text())
    summary["duration_s"] = 900.0  # half the time: every rate doubles
    path.write_text(json.dumps(summary))
    f = shift_figures(fleet_dir, "s1")
    assert f.robot_hours == 0.5 and f.stalls_per_robot_hour == 8.0
    assert f.glare_shadow_stalls_per_robot_hour == 4.0 and f.missions_per_robot_hour == 24.0


def test_a_missing_shift_or_truth_is_named(fleet_dir: Path) -> None:
    with pytest.raises(NotFoundError, match="shift summary"):
        shift_figures(fleet_dir, "s9")
    (fleet_dir / "ground_truth.json").unlink()
    with pytest.raises(NotFoundError, match="ground truth"):
        shift_figures(fleet_dir, "s1")


def test_change_pct() -> None:
    assert change_pct(150, 15) == -90.0
    assert change_pct(0, 3) is None
    assert change_pct(4, 5) == 25.0
