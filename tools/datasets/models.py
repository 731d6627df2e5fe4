"""What a training dataset is: a content-hashed manifest of frame references and their targets.

A manifest never holds pixels. Log frames are named by the log's blob sha256, the camera topic
and the frame's log time; simulator frames by the blob of a rendered frame pack and an index.
Each frame carries its target, the split it belongs to, and where the target came from, so a
policy trained on it can say exactly which bytes and which labels it learned from.
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, Field

Split = Literal["train", "val"]


class FrameRef(BaseModel):
    """One frame of a dataset and its target."""

    source: Literal["log", "sim"]
    blob_sha256: str = Field(description="the log's blob (log id) or the sim frame pack's blob")
    topic: str = Field("", description="camera topic (log frames)")
    log_time_ns: int = Field(0, description="the frame's log time (log frames)")
    index: int = Field(0, description="position in the frame pack (sim frames)")
    target: int = Field(ge=0, le=1, description="1: an obstacle in the path within stop distance")
    segment_id: str | None = None
    robot_id: str = ""
    group: str = Field(description="split unit: robot and time block (or sim pack and chunk)")
    split: Split = "train"
    provenance: str = Field(description="how the target was made (teacher, scan time, geometry)")
    tags: list[str] = Field(default_factory=list, description="hazard labels of the frame")


class LabelRef(BaseModel):
    """A catalog label that selected a segment for the dataset."""

    segment_id: str
    value: str
    labeler_version: str
    frame_ns: int


class SimPack(BaseModel):
    """Frames rendered from worlds, stored as one ``.npy`` blob."""

    blob_sha256: str
    frames: int
    seed: int
    worlds_sha256: list[str] = Field(description="sha256 of each world spec's JSON")


class TeacherConfig(BaseModel):
    """The range teacher: a camera frame is positive when the scan nearest in time sees
    something in the corridor ahead within the stop distance."""

    stop_distance_m: float = 2.0
    corridor_half_width_m: float = 0.35
    margin_m: float = 0.15
    scan_tolerance_s: float = 0.06
    sensor_offset_m: float = Field(0.31, description="range sensor ahead of the robot centre")


class DatasetManifest(BaseModel):
    """A dataset: frames, the logs, labels and sim packs they came from, and how it was cut."""

    name: str
    seed: int
    teacher: TeacherConfig
    frames: list[FrameRef]
    logs: list[str] = Field(default_factory=list, description="log ids (blob sha256)")
    labels: list[LabelRef] = Field(default_factory=list)
    labeler_versions: list[str] = Field(default_factory=list)
    sim_packs: list[SimPack] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    def canonical_bytes(self) -> bytes:
        """The bytes the dataset is identified by (and stored as)."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_bytes()).hexdigest()

    def counts(self) -> dict[str, int]:
        """Frames per split and target, and per hazard tag."""
        out: dict[str, int] = {}
        for f in self.frames:
            for key in (f"{f.split}", f"{f.split}_positive" if f.target else None, *f.tags):
                if key:
                    out[key] = out.get(key, 0) + 1
        return out


class DatasetSummary(BaseModel):
    """A built dataset as tools report it."""

    sha256: str
    name: str
    frames: int
    counts: dict[str, int]
    logs: list[str]
    labeler_versions: list[str]
    sim_packs: list[str]
    notes: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, manifest: DatasetManifest) -> DatasetSummary:
        return cls(
            sha256=manifest.sha256,
            name=manifest.name,
            frames=len(manifest.frames),
            counts=manifest.counts(),
            logs=manifest.logs,
            labeler_versions=manifest.labeler_versions,
            sim_packs=[p.blob_sha256 for p in manifest.sim_packs],
            notes=manifest.notes,
        )
