"""Recordings on the robot: a real recorder process writes split MCAP files in real time while
the watcher indexes them; one recorder is SIGKILLed mid-file; the index survives a restart."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from robotops.edge.recordings import RecordingWatcher, ends_closed
from robotops.edge.store import EdgeStore

RECORDER = """
import sys, time, os
from mcap.writer import Writer
folder, per_file, files, hang = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
t = 1_700_000_000_000_000_000
for n in range(files):
    path = os.path.join(folder, f"bag_{n}.mcap")
    with open(path, "wb") as f:
        w = Writer(f, chunk_size=4096)
        w.start(profile="", library="test-recorder")
        schema = w.register_schema(name="raw", encoding="", data=b"")
        scan = w.register_channel(topic="/scan", message_encoding="raw", schema_id=schema)
        odom = w.register_channel(topic="/odom", message_encoding="raw", schema_id=schema)
        for i in range(per_file):
            t += 10_000_000
            w.add_message(scan, log_time=t, publish_time=t, data=os.urandom(512))
            if i % 2 == 0:
                w.add_message(odom, log_time=t, publish_time=t, data=os.urandom(64))
            if i % 20 == 0:
                f.flush()
                time.sleep(0.01)
        if hang == "hang" and n == files - 1:
            f.flush()
            print("last file half-written", flush=True)
            time.sleep(600)  # killed here: no footer, no magic
        w.finish()
print("done", flush=True)
"""


def _recorder(folder: Path, per_file: int, files: int, hang: bool) -> subprocess.Popen[str]:
    args = [str(folder), str(per_file), str(files), "hang" if hang else "finish"]
    return subprocess.Popen(
        [sys.executable, "-c", RECORDER, *args], stdout=subprocess.PIPE, text=True
    )


def test_split_files_are_indexed_as_they_close_while_the_recorder_runs(tmp_path: Path) -> None:
    folder = tmp_path / "bags"
    folder.mkdir()
    store = EdgeStore(tmp_path / "edge.db")
    watcher = RecordingWatcher(folder, store, settle_s=30)
    recorder = _recorder(folder, per_file=400, files=4, hang=False)
    seen_recording = False
    while recorder.poll() is None:
        watcher.scan()
        seen_recording |= bool(store.recordings("recording"))
        time.sleep(0.02)
    watcher.scan()
    assert recorder.returncode == 0
    closed = store.recordings("closed")
    assert [Path(r.path).name for r in closed] == [f"bag_{n}.mcap" for n in range(4)]
    assert all(r.topics == {"/odom": 200, "/scan": 400} and r.messages == 600 for r in closed)
    assert all(r.start_ns < r.end_ns for r in closed)
    assert closed[0].end_ns < closed[1].start_ns  # in recording order
    assert seen_recording, "the watcher never saw a file while it was being written"
    assert watcher.scan() == []  # nothing new: nothing read again


def test_a_recorder_killed_mid_file_leaves_its_readable_part_indexed(tmp_path: Path) -> None:
    folder = tmp_path / "bags"
    folder.mkdir()
    store = EdgeStore(tmp_path / "edge.db")
    now = [time.time()]
    watcher = RecordingWatcher(folder, store, settle_s=5, clock=lambda: now[0])
    recorder = _recorder(folder, per_file=300, files=2, hang=True)
    try:
        assert recorder.stdout and recorder.stdout.readline().strip() == "last file half-written"
        recorder.send_signal(signal.SIGKILL)
        recorder.wait()
    finally:
        recorder.kill()
    torn = folder / "bag_1.mcap"
    assert not ends_closed(torn)
    watcher.scan()
    assert store.get(str(torn)).status == "recording"  # recently written: maybe still going
    now[0] += 60  # a minute without a byte
    (indexed,) = watcher.scan()
    assert indexed.path == str(torn) and indexed.status == "truncated"
    assert 0 < indexed.readable_bytes <= indexed.size_bytes
    assert 0 < indexed.topics["/scan"] <= 300 and indexed.start_ns is not None
    assert "readable up to byte" in indexed.note or "no closing magic" in indexed.note
    assert store.get(str(folder / "bag_0.mcap")).status == "closed"

    again = EdgeStore(tmp_path / "edge.db")  # the agent restarts: the index is still there
    assert [r.status for r in again.recordings()] == ["closed", "truncated"]
    assert RecordingWatcher(folder, again, settle_s=5, clock=lambda: now[0]).scan() == []


@pytest.mark.parametrize("content", [b"", b"\x89MCAP0\r\n", b"not an mcap at all" * 10])
def test_junk_files_are_indexed_as_unreadable_not_crashed_on(tmp_path: Path, content) -> None:
    folder = tmp_path / "bags"
    folder.mkdir()
    (folder / "junk.mcap").write_bytes(content)
    store = EdgeStore(tmp_path / "edge.db")
    (rec,) = RecordingWatcher(folder, store, settle_s=0).scan()
    assert rec.status == "truncated" and rec.messages == 0


def test_the_cli_scans_and_lists(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from robotops.cli import app

    folder = tmp_path / "bags"
    folder.mkdir()
    recorder = _recorder(folder, per_file=50, files=1, hang=False)
    assert recorder.wait() == 0
    args = ["edge", "scan", str(folder), "--root", str(tmp_path / "edge"), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    (rec,) = json.loads(result.stdout)
    assert (rec["status"], rec["messages"]) == ("closed", 75)
