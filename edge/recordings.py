"""Recordings on the robot: index each file ``ros2 bag record -s mcap`` (or any MCAP writer)
closes, and the readable part of one whose recorder died.

A split recorder writes ``bag_0.mcap``, ``bag_1.mcap``, ... and closes each with a footer and
the MCAP magic. The watcher looks at sizes only while a file grows (cheap: a robot recording
10 MB/s must not spend its CPU re-reading), and reads a file once: when it ends with the magic
(closed), or when it has stopped growing for ``settle_s`` without it (the recorder died; the
records before the tear are indexed and the file is marked truncated).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from mcap.exceptions import McapError
from mcap.records import Channel, Message
from mcap.stream_reader import StreamReader

from robotops.edge.store import EdgeStore, Recording

MCAP_MAGIC = b"\x89MCAP0\r\n"
READ_ERRORS = (McapError, EOFError, ValueError, OSError, KeyError)


def ends_closed(path: Path) -> bool:
    """True when the file ends with the MCAP magic: its writer finished it."""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        if f.tell() < 2 * len(MCAP_MAGIC):
            return False
        f.seek(-len(MCAP_MAGIC), os.SEEK_END)
        return f.read() == MCAP_MAGIC


def read_recording(path: Path, status: str) -> Recording:
    """Stream the file's records once: per-topic counts, time span, where reading stopped."""
    stat = path.stat()
    topics: dict[int, str] = {}
    counts: Counter[str] = Counter()
    start = end = None
    readable, note = 0, ""
    with open(path, "rb") as stream:
        try:
            for record in StreamReader(stream, validate_crcs=True).records:
                readable = stream.tell()
                if isinstance(record, Channel):
                    topics[record.id] = record.topic
                elif isinstance(record, Message):
                    counts[topics.get(record.channel_id, f"channel {record.channel_id}")] += 1
                    t = record.log_time
                    start = t if start is None else min(start, t)
                    end = t if end is None else max(end, t)
        except READ_ERRORS as exc:
            note = f"records readable up to byte {readable} of {stat.st_size}: {exc}"[:300]
    return Recording(
        path=str(path),
        status=status,  # type: ignore[arg-type]
        size_bytes=stat.st_size,
        mtime_ns=stat.st_mtime_ns,
        readable_bytes=readable,
        messages=sum(counts.values()),
        start_ns=start,
        end_ns=end,
        topics=dict(sorted(counts.items())),
        note=note,
    )


class RecordingWatcher:
    """Polls ``folder`` for MCAP files and keeps ``store`` up to date.

    Args:
        folder: where the recorder writes (searched recursively: one folder per bag).
        store: the robot's index.
        settle_s: how long a file without its closing magic must stay unchanged before it
            counts as torn (its recorder died).
        clock: seconds, for the settle time (tests pass their own).
    """

    def __init__(
        self,
        folder: Path,
        store: EdgeStore,
        settle_s: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.folder, self.store, self.settle_s, self.clock = Path(folder), store, settle_s, clock

    def scan(self) -> list[Recording]:
        """One pass: what was newly indexed as closed or truncated in this pass."""
        done = []
        for path in sorted(self.folder.rglob("*.mcap")):
            rec = self._look(path)
            if rec is not None:
                done.append(rec)
        return done

    def _look(self, path: Path) -> Recording | None:
        try:
            stat = path.stat()
        except FileNotFoundError:  # rotated away between the listing and now
            return None
        known = self.store.get(str(path))
        if known and known.status != "recording" and known.size_bytes == stat.st_size:
            return None  # indexed already, and unchanged since
        if ends_closed(path):
            return self._index(read_recording(path, "closed"))
        quiet_s = self.clock() - stat.st_mtime_ns / 1e9
        if quiet_s >= self.settle_s:
            rec = read_recording(path, "truncated")
            rec.note = rec.note or f"no closing magic after {quiet_s:.0f} s unchanged"
            return self._index(rec)
        self.store.put(
            Recording(
                path=str(path),
                status="recording",
                size_bytes=stat.st_size,
                mtime_ns=stat.st_mtime_ns,
                note="still being written",
            )
        )
        return None

    def _index(self, rec: Recording) -> Recording:
        self.store.put(rec)
        return rec
