"""``robotops ingest`` and ``robotops logs ...`` through the real command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ingest_support import SHARED_LOGS, T0, write_robot_log
from mcap.reader import make_reader
from typer.testing import CliRunner

from robotops.cli import app

runner = CliRunner()
S = 1_000_000_000


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def robot_log(tmp_path: Path) -> Path:
    return write_robot_log(tmp_path / "logs" / "104.mcap").path


def test_ingest_json_then_no_op(robot_log: Path) -> None:
    code, out, err = invoke("ingest", robot_log, "--json", "--no-index")
    assert code == 0, err
    [first] = json.loads(out)
    assert first["status"] == "ingested" and first["robot_id"] == "104"
    assert first["segment_count"] == 3 and first["event_count"] == 2

    code, out, _ = invoke("ingest", robot_log.parent, "--json", "--no-index")  # a folder
    assert code == 0
    [again] = json.loads(out)
    assert again["status"] == "already_ingested" and again["log_id"] == first["log_id"]


def test_ingest_failure_exits_2_and_reports_each_path(robot_log: Path) -> None:
    empty = SHARED_LOGS / "rosbagjs_fixtures/empty-file.bag"
    code, out, _ = invoke("ingest", empty, robot_log, "--json", "--no-index")
    assert code == 2
    failed, ok = json.loads(out)
    assert failed["status"] == "failed" and "empty file" in failed["error"]
    assert ok["status"] == "ingested"
    code, out, err = invoke("ingest", empty, "--no-index")
    assert code == 2 and "empty file" in err and "Traceback" not in out + err


def test_salvage_flag(robot_log: Path, tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.mcap"
    damaged.write_bytes(robot_log.read_bytes()[:-2000])
    code, _, err = invoke("ingest", damaged, "--no-index")
    assert code == 2 and "--salvage" in err and str(damaged) in err
    code, out, err = invoke("ingest", damaged, "--no-index", "--salvage", "--json")
    assert code == 0, err
    [result] = json.loads(out)
    assert result["salvaged_from"] and result["message_count"] > 0

    code, out, _ = invoke("logs", "lineage", result["log_id"][:12], "--json")
    assert code == 0
    lineage = json.loads(out)
    assert lineage["ancestors"] == [result["salvaged_from"]]
    assert lineage["parents"][0]["relation"] == "salvaged-from"


def test_logs_list_show_cut_lineage(robot_log: Path, tmp_path: Path) -> None:
    code, out, _ = invoke("ingest", robot_log, "--json", "--no-index")
    log_id = json.loads(out)[0]["log_id"]

    code, out, _ = invoke("logs", "list", "--json", "--robot", "104")
    assert code == 0 and [log["id"] for log in json.loads(out)] == [log_id]
    assert json.loads(invoke("logs", "list", "--json", "--robot", "999")[1]) == []

    code, out, _ = invoke("logs", "show", log_id[:8], "--json")
    shown = json.loads(out)
    assert code == 0 and shown["log"]["id"] == log_id
    assert [e["kind"] for e in shown["events"]] == ["diagnostic_error", "stall"]
    assert len(shown["segments"]) == 3 and len(shown["topics"]) == 7
    code, out, _ = invoke("logs", "show", log_id[:8], "--segments")
    assert code == 0 and "stopped" in out

    window = tmp_path / "window.mcap"
    code, out, err = invoke(
        "logs",
        "cut",
        log_id[:8],
        "--start",
        "2",
        "--end",
        "3.999",
        "--topics",
        "/odom,/events",
        "--out",
        window,
        "--json",
    )
    assert code == 0, err
    cut = json.loads(out)
    assert cut["topics"] == ["/events", "/odom"]
    assert (cut["start_ns"], cut["end_ns"]) == (T0 + 2 * S, T0 + 3999 * 1_000_000)
    with open(window, "rb") as stream:
        assert make_reader(stream).get_summary().statistics.message_count == 41

    code, out, _ = invoke("logs", "lineage", log_id, "--json")
    children = {c["kind"] for c in json.loads(out)["children"]}
    assert children == {"thumbnail", "window"}

    code, _, err = invoke("logs", "show", "ffffffff")
    assert code == 2 and "unknown log" in err


def test_ingest_feeds_the_real_vector_index(robot_log: Path) -> None:
    """End to end with the default index (MiniLM + Chroma under the data dir)."""
    code, _, err = invoke("ingest", robot_log)
    assert code == 0, err
    code, out, err = invoke("search", "robot stopped, camera glare, stall", "--json", "-k", "1")
    assert code == 0, err
    [hit] = json.loads(out)["hits"]
    assert hit["doc"]["start_ns"] == T0 + 2 * S and "stall" in hit["doc"]["events"]


def test_ingest_the_shared_folder() -> None:
    """Every real log ingests with all its messages, or is rejected with a precise reason."""
    code, out, _ = invoke("ingest", SHARED_LOGS, "--json", "--no-index")
    results = {Path(r["path"]).name: r for r in json.loads(out)}
    assert code == 2  # the empty file
    assert results["empty-file.bag"]["status"] == "failed"
    assert "empty file (0 bytes)" in results["empty-file.bag"]["error"]
    ingested = {name: r["message_count"] for name, r in results.items() if r["status"] != "failed"}
    assert ingested == {
        "bag_ego_trajectory.db3": 2130,
        "test.mcap": 2172,
        "test2.bag": 6121,
        "rosbag2_cdr_test_db3": 7,
        "rosbag2_msgcomp_zstd_db3": 1127,
        "rosbag2_services_mcap": 10,
        "rosbag2_talker_mcap": 20,
        "rosbag2_wrong_rmw_mcap": 7,
        "example-lz4.bag": 8647,
        "rosbagsrs_alltypes_mcap": 188,
    }
