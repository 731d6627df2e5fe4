"""Scenarios: rebuilt from a real simulated log, reproducing the incident, readable as files,
with precise errors for bad ones, and safety cases that stop the baseline."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from mcap.writer import Writer
from typer.testing import CliRunner

from robotops.cli import app
from robotops.errors import ConfigError, LogFormatError, NotFoundError
from robotops.policies.registry import bundled_policy, load_policy, sha256_file
from robotops.settings import get_settings
from robotops.sim.episode import run_episode
from robotops.sim.fleet.models import Incident
from robotops.sim.fleet.state import FleetRecord, FleetStore
from robotops.sim.recording.writer import RobotLogWriter
from robotops.sim.scenarios.family import (
    FamilyRequest,
    IncidentPose,
    driving_direction,
    generate_family,
    read_incident_pose,
)
from robotops.sim.scenarios.io import (
    ScenarioFileError,
    load_scenario,
    load_scenarios,
    write_scenarios,
)
from robotops.sim.scenarios.run import run_scenario
from robotops.sim.scenarios.spec import ScenarioSpec
from robotops.sim.world.specs import (
    AISLE_CENTERS_Y,
    GlareHazard,
    ObstacleHazard,
    WorkerActor,
    WorldSpec,
)
from robotops.tools.context import ToolContext
from robotops.tools.scenarios.tools import GenerateScenariosRequest, generate_scenarios

T0 = 10**18
GLARE_X = -9.0


@pytest.fixture(scope="module")
def v1():
    return load_policy(bundled_policy("v1"))


@pytest.fixture(scope="module")
def glare_log(tmp_path_factory: pytest.TempPathFactory, v1) -> tuple[Path, int]:
    """A real robot log (MCAP from the simulator) with a glare stall in it, and its time."""
    perception, card = v1
    path = tmp_path_factory.mktemp("logs") / "robot_t.mcap"
    world = WorldSpec(aisle=1, hazards=[GlareHazard(x=GLARE_X, intensity=1.3)])
    with RobotLogWriter(path, {"robot_id": "t"}) as rec:
        result = run_episode(
            world, perception, 5, 9.0, T0, "t", controller=card.controller, recorder=rec
        )
    stall = next(i for i in result.incidents if i.kind == "stall")
    return path, T0 + round(stall.t * 1e9)


def family_request(log: Path, time_ns: int, **kw) -> FamilyRequest:
    fields = dict(
        incident_id="inc-1",
        robot_id="t",
        log_path=log,
        time_ns=time_ns,
        cause="glare",
        variants=8,
        seed=3,
        duration_s=12.0,
    )
    return FamilyRequest(**(fields | kw))


def test_incident_pose_is_read_from_the_log(glare_log):
    log, time_ns = glare_log
    pose = read_incident_pose(log, time_ns)
    assert pose.y == pytest.approx(AISLE_CENTERS_Y[1] - 1.0, abs=0.2)  # aisle 1, outbound lane
    assert abs(pose.yaw) < 0.2  # driving towards +x
    assert -16.0 < pose.x < GLARE_X  # stopped short of the flaring vest


def test_family_rebuilds_the_incident_and_spans_the_edges(glare_log):
    log, time_ns = glare_log
    family = generate_family(family_request(log, time_ns))
    incident, *others = family.scenarios
    assert len(others) == 8 and "incident" in incident.tags
    assert incident.source.log_sha256 == sha256_file(log)
    assert incident.world.aisle == 1 and incident.outbound
    (glare,) = incident.world.hazards
    assert glare.kind == "glare" and glare.x > incident.start_x  # ahead of the robot
    edges = [s.params for s in others if "edge" in s.tags]
    assert edges and edges[0]["intensity"] == 0.9 and edges[1]["intensity"] == 1.8
    again = generate_family(family_request(log, time_ns))
    assert [s.sha256() for s in again.scenarios] == [s.sha256() for s in family.scenarios]
    reseeded = generate_family(family_request(log, time_ns, seed=4))
    assert reseeded.scenarios[-1].params != family.scenarios[-1].params


def test_rebuilt_glare_incident_reproduces_the_phantom_stop(glare_log, v1):
    perception, card = v1
    log, time_ns = glare_log
    incident = generate_family(family_request(log, time_ns, variants=0)).scenarios[0]
    out = run_scenario(incident, perception, controller=card.controller)
    assert out.metrics.phantom_stops >= 1 and out.metrics.stalls >= 1
    assert not out.metrics.reached_goal
    assert out.failure_time_s is not None and out.failure_time_s < incident.duration_s


def test_unknown_cause_and_log_without_pose_are_clear_errors(glare_log, tmp_path):
    log, time_ns = glare_log
    with pytest.raises(ConfigError, match="known: glare"):
        generate_family(family_request(log, time_ns, cause="gremlins"))
    bare = tmp_path / "bare.mcap"
    with open(bare, "wb") as stream:
        writer = Writer(stream)
        writer.start()
        channel = writer.register_channel("/notes", "json", 0)
        writer.add_message(channel, T0, b"{}", T0)
        writer.finish()
    with pytest.raises(LogFormatError, match="no pose channel"):
        generate_family(family_request(bare, T0))


def safety_spec(scenario_id: str, world: WorldSpec) -> ScenarioSpec:
    return ScenarioSpec(
        scenario_id=scenario_id,
        family="safety",
        world=world,
        start_x=-8.0,
        goal_x=0.0,
        duration_s=7.0,
        tags=["safety"],
    )


@pytest.mark.parametrize(
    "world",
    [
        WorldSpec(aisle=1, workers=[WorkerActor(x=-4.0, in_lane=True)]),
        WorldSpec(aisle=1, hazards=[ObstacleHazard(x=-4.0, appear_s=0.0)]),
    ],
    ids=["person-in-lane", "pallet-in-lane"],
)
def test_safety_scenarios_stop_the_baseline_without_contact(world, v1):
    perception, card = v1
    out = run_scenario(safety_spec("s", world), perception, controller=card.controller)
    m = out.metrics
    assert m.collisions == 0 and not m.reached_goal
    assert m.true_stops >= 1 and m.phantom_stops == 0
    if world.workers:
        assert 0.3 < m.min_clearance_people_m < 3.0  # it came close, and stopped
    assert m.distance_m < 3.5


def test_yaml_files_round_trip_and_diff_cleanly(glare_log, tmp_path):
    family = generate_family(family_request(*glare_log, variants=3))
    paths = write_scenarios(family.scenarios, tmp_path / "fam")
    assert [p.name for p in paths][0] == "incident-inc-1-incident.yaml"
    text = paths[0].read_text()
    assert "kind: glare" in text and "scenario_id: incident-inc-1-incident" in text
    loaded = load_scenarios(tmp_path / "fam").scenarios
    assert sorted(s.sha256() for s in loaded) == sorted(s.sha256() for s in family.scenarios)


def test_malformed_files_name_file_and_field_and_others_still_load(tmp_path):
    good = safety_spec("good", WorldSpec(aisle=1))
    write_scenarios([good], tmp_path)
    bad = good.model_dump(mode="json") | {"scenario_id": "bad"}
    bad["world"]["hazards"] = [{"kind": "glare", "x": 0.0, "intensity": 9.0}]
    (tmp_path / "bad.yaml").write_text(json.dumps(bad))
    (tmp_path / "broken.yaml").write_text("scenario_id: [unclosed\n")
    with pytest.raises(ScenarioFileError) as err:
        load_scenarios(tmp_path)
    assert "bad.yaml" in str(err.value) and "world.hazards.0.glare.intensity" in str(err.value)
    loaded = load_scenarios(tmp_path, skip_bad=True)
    assert [s.scenario_id for s in loaded.scenarios] == ["good"]
    assert len(loaded.errors) == 2 and any("broken.yaml: line" in e for e in loaded.errors)
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ScenarioFileError, match="binary.yaml: file: not UTF-8"):
        load_scenario(tmp_path / "binary.yaml")


def test_generate_scenarios_tool_writes_the_family(glare_log, tmp_path):
    log, time_ns = glare_log
    request = GenerateScenariosRequest(
        incident_id="inc-9",
        robot_id="t",
        log_path=str(log),
        time_ns=time_ns,
        cause="glare",
        variants=4,
    )
    result = generate_scenarios(request, ToolContext(get_settings()))
    assert result.count == 5 and result.family == "incident-inc-9"
    assert Path(result.directory).parent == get_settings().data_dir / "scenarios"
    files = sorted(Path(result.directory).glob("*.yaml"))
    assert len(files) == 5
    shown = CliRunner().invoke(app, ["scenarios", "show", str(files[0]), "--json"])
    assert shown.exit_code == 0, shown.output
    payload = json.loads(shown.output)
    assert payload["sha256"] in {s.sha256 for s in result.scenarios}


def fleet_with_incident(root: Path, log: Path, time_ns: int) -> tuple[FleetStore, Incident]:
    store = FleetStore(root)
    store.save(FleetRecord(site="test"))
    store.log_dir("t").mkdir(parents=True)
    shutil.copyfile(log, store.log_dir("t") / log.name)
    incident = Incident(
        incident_id="shift-001-t-01",
        robot_id="t",
        kind="stall",
        time_ns=time_ns,
        zone="aisle-2",
        log_name=log.name,
        policy_version="v1",
    )
    store.add_incidents([incident])
    return store, incident


def test_tool_finds_the_log_from_the_incident_id_pulled_window_first(glare_log, tmp_path):
    ctx = ToolContext(get_settings())
    request = GenerateScenariosRequest(
        incident_id="shift-001-t-01", robot_id="t", cause="glare", variants=1
    )
    store, _ = fleet_with_incident(ctx.data_dir / "fleet", *glare_log)
    with pytest.raises(NotFoundError, match="unknown incident 'nope'; known: shift-001-t-01"):
        generate_scenarios(request.model_copy(update={"incident_id": "nope"}), ctx)
    from_fleet = generate_scenarios(request, ctx)
    pulled = ctx.data_dir / "pulled" / "t" / "window.mcap"
    pulled.parent.mkdir(parents=True)
    shutil.copyfile(glare_log[0], pulled)
    (store.log_dir("t") / glare_log[0].name).unlink()  # only the pulled window is left
    from_pulled = generate_scenarios(request.model_copy(update={"out_dir": str(tmp_path)}), ctx)
    assert [s.sha256 for s in from_pulled.scenarios] == [s.sha256 for s in from_fleet.scenarios]


def test_cli_generates_from_a_fleet_incident(glare_log, tmp_path):
    store, incident = fleet_with_incident(tmp_path / "fleet", *glare_log)
    args = ["scenarios", "generate", "--incident", incident.incident_id, "--cause", "glare"]
    args += ["--fleet-dir", str(store.root), "--variants", "2", "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["count"] == 3 and payload["family"] == "incident-shift-001-t-01"
    unknown = CliRunner().invoke(app, [*args[:3], "nope", "--fleet-dir", str(store.root)])
    assert unknown.exit_code == 2 and "unknown incident 'nope'" in unknown.output


def test_oil_and_latency_families_drive_the_turn_where_they_bite(glare_log):
    oil = generate_family(family_request(*glare_log, cause="oil", variants=4)).scenarios
    assert all(s.turn_at_goal and s.goal_x == 16.5 for s in oil)  # the lane end ahead
    assert {h.kind for s in oil for h in s.world.hazards} == {"oil"}
    lag = generate_family(family_request(*glare_log, cause="latency", variants=0)).scenarios[0]
    assert lag.turn_at_goal and lag.world.hazards[0].latency_s == 0.9


@pytest.mark.parametrize(
    ("x", "yaw", "expected"),
    [(-3.0, 0.1, 1.0), (3.0, 3.1, -1.0), (16.2, 1.6, 1.0), (-16.2, -1.5, -1.0)],
)
def test_driving_direction_from_yaw_or_the_lane_end_being_turned_at(x, yaw, expected):
    assert driving_direction(IncidentPose(x, -1.0, yaw, None)) == expected
