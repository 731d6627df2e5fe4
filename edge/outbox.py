"""The robot's outbox: what to send to the site gateway, in priority order, within a budget.

Items (a whole recording, or an incident window cut from one) wait in the robot's SQLite
index, so a restart or a dropped link loses nothing. Incident windows go first. Before each
item the sender asks the gateway how much it already holds and sends only the rest, in chunks
at explicit offsets, paced by a token bucket (the robot's share of the site link).
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from pydantic import BaseModel

from robotops.errors import RobotOpsError

PRIORITY = {"incident": 0, "context": 1, "log": 2}
SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    upload_id TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    kind TEXT NOT NULL,
    priority INTEGER NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    queued_at REAL NOT NULL,
    sent INTEGER NOT NULL DEFAULT 0
);
"""


class GatewayUnavailable(RobotOpsError):
    """The link or the gateway is down; the outbox keeps the item and tries again later."""


class OutboxItem(BaseModel):
    upload_id: str
    path: str
    kind: str
    priority: int
    size_bytes: int
    sha256: str
    queued_at: float
    sent: bool = False


class TokenBucket:
    """``rate_bps`` bytes per second on average, bursts up to ``burst`` bytes; thread-safe, so
    a site's robots (or one robot's threads) can share one."""

    def __init__(
        self,
        rate_bps: float,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not rate_bps > 0:
            raise RobotOpsError(f"a bandwidth budget must be > 0 bytes/s, not {rate_bps}")
        self.rate, self.burst = float(rate_bps), float(burst or rate_bps)
        self.clock, self.sleep = clock, sleep
        self._tokens, self._at = self.burst, clock()
        self._lock = threading.Lock()

    def take(self, n: int) -> None:
        """Wait until ``n`` bytes may go (n larger than the burst waits for its whole cost)."""
        with self._lock:
            now = self.clock()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            self._tokens -= n
            debt = -self._tokens
        if debt > 0:
            self.sleep(debt / self.rate)


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", ""))[:300]
    except ValueError:
        return response.text[:300]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class Outbox:
    """Queue in the robot's index (``db``), sent by :meth:`send_all` to ``gateway_url``."""

    def __init__(
        self,
        db: Path,
        robot_id: str,
        gateway_url: str,
        token: str,
        bucket: TokenBucket | None = None,
        chunk_bytes: int = 256 << 10,
        timeout_s: float = 10.0,
    ) -> None:
        self.db, self.robot_id, self.chunk = Path(db), robot_id, int(chunk_bytes)
        self.bucket = bucket
        self.http = httpx.Client(
            base_url=gateway_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout_s,
        )
        with self._conn() as c:
            c.executescript(SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        return sqlite3.connect(self.db, timeout=30)

    def enqueue(self, path: Path, kind: str = "log", upload_id: str | None = None) -> OutboxItem:
        """Queue a file; the same file queued twice is one item."""
        if kind not in PRIORITY:
            raise RobotOpsError(f"unknown outbox kind {kind!r}; known: {', '.join(PRIORITY)}")
        path = Path(path)
        sha = _sha256(path)
        item = OutboxItem(
            upload_id=upload_id or f"{self.robot_id}-{sha[:24]}",
            path=str(path),
            kind=kind,
            priority=PRIORITY[kind],
            size_bytes=path.stat().st_size,
            sha256=sha,
            queued_at=time.time(),
        )
        with self._conn() as c:
            c.execute(
                "INSERT OR IGNORE INTO outbox VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
                (
                    item.upload_id,
                    item.path,
                    item.kind,
                    item.priority,
                    item.size_bytes,
                    item.sha256,
                    item.queued_at,
                ),
            )
        return item

    def pending(self) -> list[OutboxItem]:
        with self._conn() as c:
            rows = c.execute(
                "SELECT * FROM outbox WHERE sent = 0 ORDER BY priority, queued_at, upload_id"
            ).fetchall()
        keys = list(OutboxItem.model_fields)
        return [OutboxItem(**dict(zip(keys, row, strict=True))) for row in rows]

    def send_all(self, on_chunk: Callable[[OutboxItem, int], None] | None = None) -> list[str]:
        """Send every pending item, most urgent first; the ids sent.

        Raises:
            GatewayUnavailable: the link dropped; what was sent stays sent, the rest waits.
        """
        done = []
        for item in self.pending():
            self._send(item, on_chunk)
            with self._conn() as c:
                c.execute("UPDATE outbox SET sent = 1 WHERE upload_id = ?", (item.upload_id,))
            done.append(item.upload_id)
        return done

    def _send(self, item: OutboxItem, on_chunk: Callable[[OutboxItem, int], None] | None) -> None:
        state = self._call("GET", f"/edge/uploads/{item.upload_id}")
        offset = 0 if state["complete"] else state["received_bytes"]
        with open(item.path, "rb") as f:
            f.seek(offset)
            while not state["complete"] and offset < item.size_bytes:
                data = f.read(self.chunk)
                if self.bucket:
                    self.bucket.take(len(data))
                state = self._call(
                    "PUT",
                    f"/edge/uploads/{item.upload_id}",
                    params={"offset": offset},
                    content=data,
                )
                offset = state["received_bytes"]
                if on_chunk:
                    on_chunk(item, offset)
        if not state["complete"]:
            self._call(
                "POST",
                f"/edge/uploads/{item.upload_id}/complete",
                json={
                    "size_bytes": item.size_bytes,
                    "sha256": item.sha256,
                    "robot_id": self.robot_id,
                    "kind": item.kind,
                },
            )

    def _call(self, method: str, url: str, **kwargs: object) -> dict:
        try:
            response = self.http.request(method, url, **kwargs)  # type: ignore[arg-type]
        except httpx.TransportError as exc:
            raise GatewayUnavailable(f"gateway {self.http.base_url} unreachable: {exc}") from exc
        if response.status_code >= 500:
            raise GatewayUnavailable(
                f"gateway {self.http.base_url} answered {response.status_code}"
            )
        if response.status_code >= 400:
            raise RobotOpsError(
                f"gateway refused {method} {url}: {response.status_code} {_detail(response)}"
            )
        return response.json()

    def close(self) -> None:
        self.http.close()
