"""Retention: the oldest recordings go first; an unsent incident window and a file still being
written are never deleted, and what cannot be freed is reported."""

from __future__ import annotations

import os
from pathlib import Path

from robotops.edge.outbox import Outbox
from robotops.edge.retention import enforce_quota
from robotops.edge.store import EdgeStore, Recording


def _recording(store: EdgeStore, path: Path, start_ns: int, status: str = "closed") -> None:
    path.write_bytes(os.urandom(1000))
    st = path.stat()
    store.put(
        Recording(
            path=str(path),
            status=status,  # type: ignore[arg-type]
            size_bytes=st.st_size,
            mtime_ns=st.st_mtime_ns,
            start_ns=start_ns,
        )
    )


def test_the_oldest_go_first_and_unsent_windows_stay(tmp_path: Path) -> None:
    store = EdgeStore(tmp_path / "edge.db")
    bags = tmp_path / "bags"
    bags.mkdir()
    for i in range(5):  # bag_0 oldest
        _recording(store, bags / f"bag_{i}.mcap", start_ns=i, status="closed")
    _recording(store, bags / "bag_5.mcap", start_ns=5, status="recording")
    outbox = Outbox(tmp_path / "edge.db", "101", "http://127.0.0.1:9", "t" * 40)
    outbox.enqueue(bags / "bag_1.mcap", "incident")  # not sent yet: the link is down

    report = enforce_quota(store, outbox, quota_bytes=2500)
    names = [Path(p).name for p in report.deleted]
    assert names == ["bag_0.mcap", "bag_2.mcap", "bag_3.mcap", "bag_4.mcap"]
    assert "bag_1.mcap" not in names and (bags / "bag_1.mcap").exists()
    assert [Path(p).name for p in report.kept_for_upload] == ["bag_1.mcap"]
    assert report.used_bytes <= 2500 and report.over_quota_bytes == 0
    assert (bags / "bag_5.mcap").exists()
    assert {Path(r.path).name for r in store.recordings()} == {
        p.name for p in bags.iterdir()
    }  # the index follows the disk


def test_what_cannot_be_freed_is_reported(tmp_path: Path) -> None:
    store = EdgeStore(tmp_path / "edge.db")
    _recording(store, tmp_path / "live.mcap", start_ns=0, status="recording")
    _recording(store, tmp_path / "window.mcap", start_ns=1)
    outbox = Outbox(tmp_path / "edge.db", "101", "http://127.0.0.1:9", "t" * 40)
    outbox.enqueue(tmp_path / "window.mcap", "incident")
    report = enforce_quota(store, outbox, quota_bytes=500)
    assert report.deleted == [] and report.over_quota_bytes == 1500
    assert "waits for upload" in report.note
