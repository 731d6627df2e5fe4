"""Ingest runs the trigger rules: robots and incidents land in the catalog, listed by the CLI and
the API (a real uvicorn server, no fleet API anywhere)."""

from __future__ import annotations

import json

import httpx
import pytest
from foreign_logs import Scenario, write_foreign_log
from ingest_support import SHARED_LOGS, make_deps
from typer.testing import CliRunner

from robotops.api.app import build_deps, create_app
from robotops.cli import app
from robotops.errors import InvalidRequestError
from robotops.settings import get_settings
from robotops.sim.fleet.serve import serve_in_thread
from robotops.tools.logs.ingest import IngestRequest, ingest_log

runner = CliRunner()


def test_a_foreign_log_becomes_a_robot_and_its_incidents(tmp_path):
    path = tmp_path / "amr-07_2026-12-05.mcap"
    stop = write_foreign_log(path, Scenario(motion="stall", camera="png"))
    deps = make_deps(tmp_path / "store")
    result = ingest_log(IngestRequest(path=path), deps)
    assert (result.robot_id, result.robot_source) == ("amr-07", "file name")
    assert result.incident_count == 3
    incidents = deps.catalog.incidents(robot_id="amr-07")
    assert [i.kind for i in incidents] == ["diagnostic_error", "log_error", "stall"]
    assert {i.source for i in incidents} == {"ingest"}
    assert {i.log_id for i in incidents} == {result.log_id}
    stall = incidents[-1]
    assert abs(stall.onset_ns - stop) < 200_000_000 and stall.topic == "/amr07/base/odometry"
    [robot] = deps.catalog.robots()
    assert (robot.robot_id, robot.source, robot.id_source) == ("amr-07", "ingest", "file name")
    again = ingest_log(IngestRequest(path=path), deps)
    assert again.status == "already_ingested" and again.incident_count == 3
    assert len(deps.catalog.incidents()) == 3


def test_a_bad_rules_file_stores_nothing(tmp_path):
    path = tmp_path / "amr-07.mcap"
    write_foreign_log(path, Scenario(motion="stall", seconds=4))
    rules = tmp_path / "r.yaml"
    rules.write_text("rules: [{name: s, type: stall, min_s: 0}]")
    deps = make_deps(tmp_path / "store")
    with pytest.raises(InvalidRequestError, match="min_s"):
        ingest_log(IngestRequest(path=path, rules=rules), deps)
    assert deps.catalog.list_logs() == [] and deps.catalog.incidents() == []


def test_incidents_cli_and_api_list_them_with_their_source(tmp_path):
    write_foreign_log(tmp_path / "amr-07_a.mcap", Scenario(motion="estop", diagnostics=False))
    write_foreign_log(tmp_path / "amr-12_b.mcap", Scenario(motion="slip"))
    code = runner.invoke(app, ["ingest", str(tmp_path), "--no-index"]).exit_code
    assert code == 0
    out = runner.invoke(app, ["incidents", "list", "--robot", "amr-07"]).stdout
    assert "estop" in out and "ingest" in out and "amr-12" not in out
    rows = json.loads(runner.invoke(app, ["incidents", "list", "--json"]).stdout)
    assert {(r["robot_id"], r["kind"]) for r in rows} == {
        ("amr-07", "estop"),
        ("amr-07", "stall"),
        ("amr-12", "wheel_slip"),
    }
    deps = build_deps(get_settings())
    with serve_in_thread(create_app(deps)) as url:
        token = next(t for t, rec in deps.tokens.items() if rec.role == "viewer")
        head = {"Authorization": f"Bearer {token}"}
        got = httpx.get(f"{url}/incidents", params={"robot": "amr-12"}, headers=head).json()
        assert [(i["kind"], i["source"]) for i in got["incidents"]] == [("wheel_slip", "ingest")]
        assert httpx.get(f"{url}/incidents").status_code == 401
        bad = httpx.get(f"{url}/incidents", params={"source": "nope"}, headers=head)
        assert bad.status_code == 422
        robots = httpx.get(f"{url}/robots", headers=head).json()["robots"]
        assert [r["robot_id"] for r in robots] == ["amr-07", "amr-12"]


def test_the_shared_real_logs_still_ingest(tmp_path):
    deps = make_deps(tmp_path / "store")
    for name in ("rosbag2_talker_mcap", "rosbag2_msgcomp_zstd_db3", "keelson_mcap/test.mcap"):
        result = ingest_log(IngestRequest(path=SHARED_LOGS / name), deps)
        assert result.status == "ingested" and result.message_count > 0
