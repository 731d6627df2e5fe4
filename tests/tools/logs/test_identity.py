"""Which robot a log is from: option, MCAP metadata, bag metadata.yaml, name; or a warning."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from foreign_logs import Scenario, write_foreign_log
from ingest_support import make_deps
from typer.testing import CliRunner

from robotops.cli import app
from robotops.tools.logs.identity import identify
from robotops.tools.logs.ingest import IngestRequest, ingest_log

runner = CliRunner()


@pytest.mark.parametrize(
    ("name", "robot"),
    [
        ("amr-07_2026-12-05.mcap", "amr-07"),
        ("robot104.mcap", "robot104"),
        ("AGV_3-run.mcap", "agv_3"),
        ("cdr_test_0.mcap", ""),
        ("talker.mcap", ""),
        ("message_compression_0.mcap", ""),
    ],
)
def test_robot_id_from_the_file_name(name, robot):
    who = identify(Path("/nowhere") / name, {})
    assert who.robot_id == robot
    assert who.source == ("file name" if robot else "")


def test_sources_in_order(tmp_path):
    meta = {"vehicle": {"vehicle_id": "amr-09"}}
    assert identify(tmp_path / "amr-07.mcap", meta, "x-1").source == "option"
    assert identify(tmp_path / "amr-07.mcap", meta).robot_id == "amr-09"
    assert identify(tmp_path / "amr-07.mcap", meta).source == "mcap metadata"
    ours = {"robot": {"robot_id": "104", "site": "s", "zone": "z"}}
    assert (
        identify(tmp_path / "a.mcap", ours).robot_id,
        identify(tmp_path / "a.mcap", ours).zone,
    ) == ("104", "z")


def _bag(tmp_path: Path, custom: dict | None) -> Path:
    bag = tmp_path / "field_bag"
    bag.mkdir()
    write_foreign_log(bag / "field_bag_0.mcap", Scenario(motion="drive", seconds=3))
    info = {
        "version": 8,
        "storage_identifier": "mcap",
        "relative_file_paths": ["field_bag_0.mcap"],
        "topics_with_message_count": [],
    }
    if custom is not None:
        info["custom_data"] = custom
    (bag / "metadata.yaml").write_text(yaml.safe_dump({"rosbag2_bagfile_information": info}))
    return bag


def test_robot_id_from_the_bag_custom_data(tmp_path):
    bag = _bag(tmp_path, {"robot_name": "amr-07", "site": "dock-2"})
    result = ingest_log(IngestRequest(path=bag), make_deps(tmp_path / "store"))
    assert (result.robot_id, result.robot_source, result.site) == (
        "amr-07",
        "rosbag2 metadata",
        "dock-2",
    )


def test_no_robot_id_anywhere_is_a_warning_not_silence(tmp_path):
    bag = _bag(tmp_path, None)
    plain = tmp_path / "plain"
    shutil.move(bag, plain)
    result = runner.invoke(app, ["ingest", str(plain), "--no-index"])
    assert result.exit_code == 0, result.output
    assert "no robot id" in result.stdout
    assert "warning:" in result.stderr and "pass --robot" in result.stderr


def test_ingest_says_which_source_it_used(tmp_path):
    path = tmp_path / "amr-07_field.mcap"
    write_foreign_log(path, Scenario(motion="drive", seconds=3))
    result = runner.invoke(app, ["ingest", str(path), "--no-index"])
    assert result.exit_code == 0, result.output
    assert "robot amr-07 (from the file name)" in result.stdout
    result = runner.invoke(app, ["ingest", str(path), "--no-index", "--json"])
    import json

    [row] = json.loads(result.stdout)
    assert row["status"] == "already_ingested" and row["robot_id"] == "amr-07"
