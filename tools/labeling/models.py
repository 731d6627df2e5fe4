"""The labeling tools' inputs and outputs, and what backends hand back per frame."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class FrameVerdict(BaseModel):
    """What a backend found in one frame: the labels present with their confidence, or why it
    could not tell."""

    labels: dict[str, float] = Field(default_factory=dict, description="present label -> 0..1")
    error: str | None = None


class BackendIdentity(BaseModel):
    """Which model made a label: enough to tell two labelers apart and to find the model."""

    backend: str
    model: str = Field(description="'sha256:<hex>' of local weights, or '<endpoint> <model>'")


class LabelOut(BaseModel):
    """One label of a segment: its value, confidence and the frame that showed it best."""

    value: str = Field(description="the label's name in the vocabulary")
    confidence: float
    frame_ns: int


class SegmentOutcome(BaseModel):
    """What labeling one segment gave: labels, or a per-item error (the batch goes on)."""

    segment_id: str
    labels: list[LabelOut] = Field(default_factory=list)
    frames: int = Field(0, description="frames the backend judged")
    error: str | None = Field(None, description="why the segment could not be labeled")
    notes: list[str] = Field(default_factory=list, description="frames skipped, and why")


class LabelRequest(BaseModel):
    """Which segments to label, and with which backend."""

    backend: str | None = Field(None, description="embedded, clip or openai; default: settings")
    since_ns: int | None = Field(None, description="only segments ending at or after this time")
    log_ids: list[str] = Field(default_factory=list, description="only these logs (id prefixes)")
    limit: int | None = Field(None, ge=1, description="at most this many segments")


class LabelResult(BaseModel):
    """What a labeling run did."""

    labeler_version: str
    backend: str
    model: str
    vocabulary_sha256: str
    pending: int = Field(description="segments not yet labeled by this version")
    labeled: int = Field(description="segments labeled now")
    failed: int = Field(description="segments that recorded an error")
    labels: dict[str, int] = Field(default_factory=dict, description="label -> segments")
    errors: list[str] = Field(default_factory=list, description="the first few errors")
    notes: list[str] = Field(default_factory=list)
    seconds: float = 0.0


class LabelerVersionInfo(BaseModel):
    """A labeler version as the catalog knows it."""

    version: str
    labeler_id: str
    backend: str
    model: str
    vocabulary_sha256: str
    created_at: datetime
    quarantined: bool
    quarantined_at: datetime | None = None
    quarantine_reason: str = ""
    labels: int = 0
    segments: int = 0
    errors: int = 0
    datasets: list[str] = Field(default_factory=list)


class QuarantineRequest(BaseModel):
    """Take a labeler version out of service."""

    labeler_version: str = Field(description="the version, or an unambiguous prefix of it")
    reason: str = ""


class QuarantineResult(BaseModel):
    """What quarantining a labeler version changed, and what it had already fed."""

    labeler_version: str
    already: bool = Field(description="it was quarantined before this call")
    labels_hidden: int
    segments_updated: int
    datasets_affected: list[str] = Field(
        description="datasets already built from this version's labels: review or rebuild"
    )
    notes: list[str] = Field(default_factory=list)
