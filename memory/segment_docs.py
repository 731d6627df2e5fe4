"""The contract between log indexing and the vector index: one searchable document per segment.

Ingest produces these (one per fixed time window of a log); the vector index embeds ``text``
and filters on ``metadata``. Keeping the shape here lets either side change its internals.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class SegmentDoc(BaseModel):
    """A log segment as the vector index sees it."""

    segment_id: str = Field(description="stable id: '<log sha256[:16]>:<start_ns>'")
    text: str = Field(
        description="what happened in the segment, in words: features, events, labels"
    )
    log_id: str = Field(description="sha256 of the log file")
    robot_id: str = ""
    site: str = ""
    start_ns: int
    end_ns: int
    events: list[str] = Field(default_factory=list, description="event kinds in the segment")
    labels: list[str] = Field(default_factory=list, description="labels (from the labeler)")
    thumbnail: str | None = Field(None, description="blob path of a thumbnail, if any")


class SegmentHit(BaseModel):
    """A search result: the segment, its score (higher is better) and why it matched."""

    doc: SegmentDoc
    score: float
    why: str
