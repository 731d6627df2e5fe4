"""The robot's own index: recordings and incidents, in one SQLite file that survives restarts.

The edge agent may be killed at any time (power cut, watchdog, kill -9); every change here is
one transaction, so after a restart the index says exactly what was indexed before.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

RecordingStatus = Literal["recording", "closed", "truncated"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS recordings (
    path TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    readable_bytes INTEGER NOT NULL DEFAULT 0,
    messages INTEGER NOT NULL DEFAULT 0,
    start_ns INTEGER,
    end_ns INTEGER,
    topics TEXT NOT NULL DEFAULT '{}',
    note TEXT NOT NULL DEFAULT '',
    indexed_at REAL NOT NULL
);
"""


class Recording(BaseModel):
    """One file a recorder wrote, as far as it could be read."""

    path: str
    status: RecordingStatus
    size_bytes: int
    mtime_ns: int
    readable_bytes: int = 0
    messages: int = 0
    start_ns: int | None = None
    end_ns: int | None = None
    topics: dict[str, int] = Field(default_factory=dict, description="topic -> messages")
    note: str = ""
    indexed_at: float = 0.0


class EdgeStore:
    """``recordings`` today; incidents and the outbox join it as the agent grows."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        try:
            with db:  # one transaction: committed on success, rolled back on error
                yield db
        finally:
            db.close()

    def put(self, rec: Recording) -> None:
        row = rec.model_dump()
        row["topics"] = json.dumps(rec.topics, sort_keys=True)
        row["indexed_at"] = rec.indexed_at or time.time()
        columns = ", ".join(row)
        marks = ", ".join(f":{k}" for k in row)
        with self._db() as db:
            db.execute(f"INSERT OR REPLACE INTO recordings ({columns}) VALUES ({marks})", row)

    def get(self, path: str) -> Recording | None:
        with self._db() as db:
            db.row_factory = sqlite3.Row
            row = db.execute("SELECT * FROM recordings WHERE path = ?", (path,)).fetchone()
        return _recording(row) if row else None

    def forget(self, path: str) -> None:
        """Drop a recording the retention deleted."""
        with self._db() as db:
            db.execute("DELETE FROM recordings WHERE path = ?", (path,))

    def recordings(self, status: RecordingStatus | None = None) -> list[Recording]:
        query, args = "SELECT * FROM recordings", ()
        if status:
            query, args = query + " WHERE status = ?", (status,)
        with self._db() as db:
            db.row_factory = sqlite3.Row
            rows = db.execute(query + " ORDER BY start_ns, path", args).fetchall()
        return [_recording(r) for r in rows]


def _recording(row: sqlite3.Row) -> Recording:
    data = dict(row)
    data["topics"] = json.loads(data["topics"])
    return Recording.model_validate(data)
