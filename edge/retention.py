"""Retention under a disk quota: the oldest recordings go first, never what is still needed.

A robot's disk fills in hours at camera rates. When the recordings take more than the quota,
the oldest indexed files are deleted until they fit again, except a file still being written
and any file the outbox has not sent yet (an incident window waiting for the link is the one
thing that must survive). What could not be freed is said, not hidden.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from robotops.edge.outbox import Outbox
from robotops.edge.store import EdgeStore


class RetentionReport(BaseModel):
    quota_bytes: int
    used_bytes: int
    deleted: list[str]
    freed_bytes: int
    kept_for_upload: list[str]
    over_quota_bytes: int
    note: str = ""


def enforce_quota(store: EdgeStore, outbox: Outbox | None, quota_bytes: int) -> RetentionReport:
    """Delete the oldest recordings until they fit in ``quota_bytes``; see the module notes."""
    pending = {str(Path(i.path).resolve()) for i in outbox.pending()} if outbox else set()
    recordings = store.recordings()
    used = sum(_size(Path(r.path)) for r in recordings)
    deleted, kept, freed = [], [], 0
    for rec in sorted(recordings, key=lambda r: (r.start_ns or 0, r.mtime_ns, r.path)):
        if used - freed <= quota_bytes:
            break
        path = Path(rec.path)
        if rec.status == "recording":
            continue
        if str(path.resolve()) in pending:
            kept.append(rec.path)
            continue
        size = _size(path)
        path.unlink(missing_ok=True)
        store.forget(rec.path)
        deleted.append(rec.path)
        freed += size
    over = max(0, used - freed - quota_bytes)
    note = (
        f"{over} bytes over quota: what is left is being written or waits for upload"
        if over
        else ""
    )
    return RetentionReport(
        quota_bytes=quota_bytes,
        used_bytes=used - freed,
        deleted=deleted,
        freed_bytes=freed,
        kept_for_upload=kept,
        over_quota_bytes=over,
        note=note,
    )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
