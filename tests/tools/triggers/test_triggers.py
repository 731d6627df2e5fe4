"""Trigger rules on another team's logs (written with mcap-ros2-support, not our recorder)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from foreign_logs import NS, Scenario, clock, write_foreign_log
from typer.testing import CliRunner

from robotops.cli import app
from robotops.errors import InvalidRequestError
from robotops.tools.triggers.engine import TriggerEngine
from robotops.tools.triggers.rules import load_rules, parse_rules
from robotops.tools.triggers.run import run_rules

runner = CliRunner()


def fired(tmp_path: Path, scenario: Scenario, rules=None):
    path = tmp_path / "amr-07_field.mcap"
    stop = write_foreign_log(path, scenario)
    return stop, run_rules(path, rules or load_rules())


@pytest.mark.parametrize(
    ("motion", "kind", "words"),
    [
        ("stall", "stall", "still commanded 0.80 m/s"),
        ("stall_cmd_stops", "stall", "commanded a stop too"),
        ("estop", "estop", "e-stop engaged"),
        ("oscillation", "oscillation", "reversed"),
        ("slip", "wheel_slip", "moved 0.10 m/s"),
    ],
)
def test_each_behaviour_fires_once_near_when_it_happened(tmp_path, motion, kind, words):
    stop, found = fired(tmp_path, Scenario(motion=motion))
    mine = [f for f in found if f.kind == kind]
    assert len(mine) == 1, found
    [f] = mine
    assert words in f.detail
    assert stop <= f.time_ns <= stop + 4 * NS
    assert f.onset_ns <= f.time_ns


def test_a_stall_is_flagged_after_min_s_with_its_onset_at_the_stop(tmp_path):
    stop, found = fired(tmp_path, Scenario(motion="stall"))
    [stall] = [f for f in found if f.kind == "stall"]
    assert abs(stall.onset_ns - stop) <= NS // 10  # the odometry's twist, not a slow average
    assert stall.time_ns - stall.onset_ns >= 3 * NS
    assert stall.topic == "/amr07/base/odometry"


def test_standard_messages_fire_with_their_channel(tmp_path):
    _, found = fired(tmp_path, Scenario(motion="stall"))
    by_kind = {f.kind: f for f in found}
    assert by_kind["diagnostic_error"].topic == "/diagnostics_agg"
    assert "goal blocked" in by_kind["diagnostic_error"].detail
    assert by_kind["log_error"].topic == "/rosout"


def test_a_robot_that_just_drives_fires_nothing(tmp_path):
    assert fired(tmp_path, Scenario(motion="drive"))[1] == []


def test_a_longer_min_s_does_not_fire_on_a_short_stop(tmp_path):
    rules = parse_rules([{"name": "long", "type": "stall", "min_s": 8.0}])
    assert fired(tmp_path, Scenario(motion="stall", seconds=12.0, stop_s=6.0), rules)[1] == []


def test_without_odometry_no_stall_is_guessed():
    engine = TriggerEngine(load_rules())
    twist = {"linear": {"x": 0.0, "y": 0.0}, "angular": {"z": 0.0}}
    for i in range(100):
        engine.feed("/cmd", "geometry_msgs/Twist", i * NS // 10, twist)
    assert engine.finish() == []


def test_bad_rules_are_refused_with_where_and_why(tmp_path):
    with pytest.raises(InvalidRequestError, match=r"rules\.0\.stall\.min_s"):
        parse_rules([{"name": "s", "type": "stall", "min_s": -1}])
    with pytest.raises(InvalidRequestError, match="unique"):
        parse_rules([{"name": "a", "type": "estop"}, {"name": "a", "type": "log"}])
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [ {name: x, type: nope} ]")
    with pytest.raises(InvalidRequestError, match="bad.yaml"):
        load_rules(bad)
    with pytest.raises(InvalidRequestError, match="missing.yaml"):
        load_rules(tmp_path / "missing.yaml")


def test_cli_triggers_test_prints_what_fires(tmp_path):
    path = tmp_path / "amr-07.mcap"
    stop = write_foreign_log(path, Scenario(motion="estop"))
    rules = tmp_path / "estop.yaml"
    rules.write_text("rules:\n  - {name: my-estop, type: estop, topic: '*/safety/*'}\n")
    result = runner.invoke(app, ["triggers", "test", str(rules), str(path)])
    assert result.exit_code == 0, result.output
    assert f"{clock(stop)}.000  estop" in result.stdout
    assert "my-estop" in result.stdout and "/amr07/safety/estop_engaged" in result.stdout
    result = runner.invoke(app, ["triggers", "test", "default", str(path), "--json"])
    assert {f["kind"] for f in json.loads(result.stdout)} == {"estop", "stall"}
    result = runner.invoke(app, ["triggers", "test", str(tmp_path / "none.yaml"), str(path)])
    assert result.exit_code == 2 and "none.yaml" in result.stderr
