"""A real (short) shift of the simulated fleet: stalls where glare is, none where it is not,
logs that open and decode, ground truth kept out of the logs, and bit-identical replays."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory

from robotops.errors import ConfigError
from robotops.policies.registry import bundled_policy, load_policy
from robotops.sim.episode import run_episode
from robotops.sim.fleet.shift import ShiftConfig, run_shift
from robotops.sim.recording.writer import TOPICS, RobotLogWriter
from robotops.sim.world.specs import GlareHazard, WorldSpec


@pytest.fixture(scope="module")
def glare_shift(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("fleet")
    summary = run_shift(
        root, ShiftConfig(robots=2, minutes=0.75, seed=1, hazards=["glare"], workers=2)
    )
    return root, summary


def test_glare_makes_its_robot_stall_and_the_clean_robot_does_not(glare_shift):
    root, summary = glare_shift
    assert summary.per_robot["102"]["stalls"] >= 1  # #102 works beside the flaring vest
    assert summary.per_robot["101"]["stalls"] == 0
    truth = json.loads((root / "ground_truth.json").read_text())["incidents"]
    stalls = [i for i in summary.incidents if i.kind == "stall"]
    assert stalls and all(truth[i.incident_id]["cause"] == "glare" for i in stalls)


def test_logs_open_and_every_topic_decodes(glare_shift):
    root, summary = glare_shift
    log = root / "robots" / "102" / "logs" / "102_shift-001.mcap"
    with open(log, "rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        seen = {ch.topic for _, ch, _, _ in reader.iter_decoded_messages()}
        meta = {m.name: m.metadata for m in reader.iter_metadata()}
    assert seen == set(TOPICS)
    assert meta["robot"]["robot_id"] == "102" and meta["robot"]["policy_version"] == "v1"
    assert summary.bytes_logged > 100_000


def test_ground_truth_never_reaches_the_robot_side(glare_shift):
    root, _ = glare_shift
    incidents = (root / "incidents.json").read_text()
    assert "cause" not in incidents and "glare" not in incidents
    raw = (root / "robots" / "102" / "logs" / "102_shift-001.mcap").read_bytes()
    assert b"glare" not in raw


def test_a_second_shift_appends_new_logs_beside_the_first(tmp_path):
    config = ShiftConfig(robots=1, minutes=0.1, hazards=[], workers=1)
    first, second = run_shift(tmp_path, config), run_shift(tmp_path, config)
    assert (first.shift_id, second.shift_id) == ("shift-001", "shift-002")
    logs = sorted(p.name for p in (tmp_path / "robots" / "101" / "logs").glob("*.mcap"))
    assert logs == ["101_shift-001.mcap", "101_shift-002.mcap"]
    fleet = json.loads((tmp_path / "fleet.json").read_text())
    assert [s["shift_id"] for s in fleet["shifts"]] == ["shift-001", "shift-002"]


def test_unknown_hazard_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="known: glare"):
        run_shift(tmp_path, ShiftConfig(robots=1, minutes=0.1, hazards=["lava"]))


def _episode_log(path: Path) -> tuple[str, str]:
    perception, card = load_policy(bundled_policy("v1"))
    world = WorldSpec(aisle=1, hazards=[GlareHazard(x=-12.0, intensity=1.3)])
    with RobotLogWriter(path, {"robot_id": "t"}) as rec:
        result = run_episode(
            world,
            perception,
            seed=5,
            duration_s=6.0,
            start_ns=10**18,
            robot_id="t",
            controller=card.controller,
            recorder=rec,
        )
    return result.trajectory_sha256, hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_world_policy_and_seed_replay_bit_identically(tmp_path):
    first = _episode_log(tmp_path / "a.mcap")
    second = _episode_log(tmp_path / "b.mcap")
    assert first == second
