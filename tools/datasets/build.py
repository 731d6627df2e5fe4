"""Build a perception dataset from the catalog: hazard segments, balanced, targets from the range.

Selection: the segments carrying the requested labels (e.g. ``glare``, ``hard_shadow``) and/or
the hits of a search; their logs' other frames supply normal driving and real obstacles, kept
in proportion. Every camera frame takes its target from the nearest scan (the range teacher).
Simulator frames rendered in the scenario family's worlds can be added; their pack is stored
in the blob store and referenced like a log.
"""

from __future__ import annotations

import bisect
import hashlib
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, Field

from robotops.errors import InvalidRequestError
from robotops.memory.blobs import BlobStore
from robotops.memory.catalog import Catalog, LogPublic, SegmentPublic
from robotops.memory.labels import LabelStore
from robotops.settings import DatasetSettings
from robotops.sim.logs.readers import open_log
from robotops.sim.world.specs import WorldSpec
from robotops.tools.datasets.models import (
    DatasetManifest,
    FrameRef,
    LabelRef,
    SimPack,
    TeacherConfig,
)
from robotops.tools.datasets.simframes import render_sim_frames
from robotops.tools.datasets.splits import (
    group_name,
    near_other_split,
    pick_validation,
    time_group,
)
from robotops.tools.datasets.teacher import default_teacher, nearest, scan_target
from robotops.tools.labeling.frames import IMAGE_TYPES

if TYPE_CHECKING:
    from robotops.memory.vectors import VectorIndex

SCAN_TYPES = ("sensor_msgs/LaserScan",)
SIM_CHUNK = 25  # sim frames per split group


class DatasetRequest(BaseModel):
    """What to put in a perception dataset."""

    name: str = "perception"
    log_ids: list[str] | None = Field(
        None, description="logs to take frames from; default: the logs of the selected segments"
    )
    labels: list[str] = Field(
        default_factory=lambda: ["glare", "hard_shadow"],
        description="segments carrying any of these labels are the hazard frames",
    )
    segment_ids: list[str] = Field(default_factory=list, description="e.g. from a search")
    search: str | None = Field(None, description="add the hits of this search (vector index)")
    search_k: int = Field(50, ge=1, le=1000)
    normal_ratio: float = Field(
        1.0, ge=0.0, description="normal-driving frames kept per hazard or obstacle frame"
    )
    frame_stride: int = Field(1, ge=1, description="keep every k-th camera frame of a log")
    worlds: list[WorldSpec] = Field(default_factory=list, description="worlds to render from")
    sim_frames: int = Field(0, ge=0, description="simulator frames to render over the worlds")
    seed: int = 0
    val_fraction: float = Field(0.2, ge=0.0, lt=1.0)
    block_s: float = Field(10.0, gt=0.0, description="time block of a split group")
    guard_s: float = Field(1.0, ge=0.0, description="frames this near the other split are dropped")


@dataclass
class _Candidate:
    log: LogPublic
    topic: str
    t_ns: int
    target: int
    scan_dt_ns: int
    segment: str | None
    tags: list[str] = field(default_factory=list)


def build_dataset(
    request: DatasetRequest,
    catalog: Catalog,
    blobs: BlobStore,
    settings: DatasetSettings | None = None,
    index: VectorIndex | None = None,
) -> DatasetManifest:
    """Select, label with the range teacher, balance, split; render and store sim frames.

    Raises:
        InvalidRequestError: nothing matched (no logs, no frames, no worlds).
        NotFoundError: a named log does not exist.
    """
    if request.sim_frames and not request.worlds:
        raise InvalidRequestError(
            f"sim_frames={request.sim_frames} needs worlds to render them in; none were given"
        )
    settings = settings or DatasetSettings()
    teacher = default_teacher(settings.scan_tolerance_s)
    segment_ids = list(request.segment_ids)
    if request.search:
        segment_ids += _search(request, index)
    labels = _hazard_labels(catalog, request, segment_ids)
    logs = _logs(catalog, request, [*segment_ids, *labels])
    candidates: list[_Candidate] = []
    notes: list[str] = []
    for log in logs:
        segments = catalog.segments(log.id)
        candidates += _log_candidates(
            log, blobs.path_of(log.id), segments, labels, set(segment_ids), teacher, request, notes
        )
    frames = _split_log_frames(_balance(candidates, request), request)
    packs: list[SimPack] = []
    if request.sim_frames:
        pack, sim_refs = _sim_frames(request, blobs)
        packs.append(pack)
        frames += sim_refs
    if not frames:
        raise InvalidRequestError(
            "the dataset request matched no frames: ingest logs with camera and scan topics, "
            "label them, or give worlds and sim_frames"
        )
    used = {f.segment_id for f in frames if f.segment_id}
    label_refs = sorted(
        (lab for seg, labs in labels.items() if seg in used for lab in labs),
        key=lambda r: (r.segment_id, r.value, r.labeler_version, r.frame_ns),
    )
    return DatasetManifest(
        name=request.name,
        seed=request.seed,
        teacher=teacher,
        frames=frames,
        logs=sorted({f.blob_sha256 for f in frames if f.source == "log"}),
        labels=label_refs,
        labeler_versions=sorted({r.labeler_version for r in label_refs}),
        sim_packs=packs,
        notes=notes,
    )


def _search(request: DatasetRequest, index: VectorIndex | None) -> list[str]:
    from robotops.tools.logs.search import SearchQuery, search_segments

    if index is None:
        raise InvalidRequestError("a dataset search needs the vector index; none was given")
    result = search_segments(SearchQuery(text=request.search or "", k=request.search_k), index)
    return [hit.doc.segment_id for hit in result.hits]


def _hazard_labels(
    catalog: Catalog, request: DatasetRequest, segment_ids: list[str]
) -> dict[str, list[LabelRef]]:
    """Active (not quarantined) labels with the requested values, by segment."""
    store = LabelStore(catalog)
    if not request.labels:
        return {}
    wanted = store.labeled_segments() if request.log_ids is None else _segments_of(catalog, request)
    found = store.active_labels(sorted(set(wanted) | set(segment_ids)), request.labels)
    return {
        seg: [
            LabelRef(
                segment_id=seg,
                value=lab.value,
                labeler_version=lab.labeler_version,
                frame_ns=lab.frame_ns,
            )
            for lab in labs
        ]
        for seg, labs in found.items()
    }


def _segments_of(catalog: Catalog, request: DatasetRequest) -> list[str]:
    return [
        s.id for ref in request.log_ids or [] for s in catalog.segments(catalog.get_log(ref).id)
    ]


def _logs(catalog: Catalog, request: DatasetRequest, segment_ids: list[str]) -> list[LogPublic]:
    if request.log_ids is not None:
        return [catalog.get_log(ref) for ref in request.log_ids]
    prefixes = {s.split(":", 1)[0] for s in segment_ids}
    return [log for log in catalog.list_logs() if log.id[:16] in prefixes]


def _log_candidates(
    log: LogPublic,
    path: Path,
    segments: list[SegmentPublic],
    labels: dict[str, list[LabelRef]],
    selected: set[str],
    teacher: TeacherConfig,
    request: DatasetRequest,
    notes: list[str],
) -> list[_Candidate]:
    """Every (strided) camera frame of a log with its range-teacher target."""
    images: list[tuple[str, int]] = []
    scans: list[tuple[int, int]] = []
    with open_log(path) as reader:
        for message in reader.messages():
            kind = message.channel.type
            if kind in IMAGE_TYPES:
                images.append((message.topic, message.log_time_ns))
            elif kind in SCAN_TYPES:
                decoded = message.decoded
                if decoded is not None:
                    scans.append((message.log_time_ns, scan_target(decoded, teacher)))
    scan_times = [t for t, _ in scans]
    tolerance = int(teacher.scan_tolerance_s * 1e9)
    starts = [s.start_ns for s in segments]
    out, unpaired = [], 0
    for topic, t in images[:: request.frame_stride]:
        j = nearest(scan_times, t)
        if j is None or abs(scan_times[j] - t) > tolerance:
            unpaired += 1
            continue
        seg = _segment_at(segments, starts, t)
        tags = sorted({lab.value for lab in labels.get(seg, [])} if seg else set())
        if seg in selected and not tags:
            tags = ["selected"]
        out.append(_Candidate(log, topic, t, scans[j][1], scan_times[j] - t, seg, tags))
    if unpaired:
        notes.append(f"log {log.id[:12]}: {unpaired} frames had no scan within {tolerance} ns")
    return out


def _segment_at(segments: list[SegmentPublic], starts: list[int], t: int) -> str | None:
    i = bisect.bisect_right(starts, t) - 1
    return segments[i].id if i >= 0 and t < segments[i].end_ns else None


def _balance(candidates: list[_Candidate], request: DatasetRequest) -> list[_Candidate]:
    """All hazard and obstacle frames; normal driving in proportion to them."""
    keep = [c for c in candidates if c.tags or c.target]
    normal = [c for c in candidates if not (c.tags or c.target)]
    if not keep:
        return normal
    n = min(len(normal), math.ceil(request.normal_ratio * len(keep)))
    rng = np.random.default_rng(request.seed)
    picked = sorted(rng.choice(len(normal), size=n, replace=False)) if n else []
    return keep + [normal[i] for i in picked]


def _split_log_frames(candidates: list[_Candidate], request: DatasetRequest) -> list[FrameRef]:
    keyed = [(c, *time_group(c.log.robot_id, c.t_ns, request.block_s)) for c in candidates]
    existing = {group_name(r, b) for _, r, b in keyed}
    val = pick_validation(sorted(existing), request.val_fraction, request.seed)
    refs = []
    for c, robot, block in sorted(keyed, key=lambda k: (k[0].log.id, k[0].t_ns, k[0].topic)):
        if near_other_split(robot, block, c.t_ns, val, existing, request.block_s, request.guard_s):
            continue
        group = group_name(robot, block)
        refs.append(
            FrameRef(
                source="log",
                blob_sha256=c.log.id,
                topic=c.topic,
                log_time_ns=c.t_ns,
                target=c.target,
                segment_id=c.segment,
                robot_id=c.log.robot_id,
                group=group,
                split="val" if group in val else "train",
                provenance=f"range-teacher: scan {c.scan_dt_ns / 1e6:+.1f} ms from the frame",
                tags=c.tags,
            )
        )
    return refs


def _sim_frames(request: DatasetRequest, blobs: BlobStore) -> tuple[SimPack, list[FrameRef]]:
    frames, targets, meta = render_sim_frames(request.worlds, request.sim_frames, request.seed)
    buf = io.BytesIO()
    np.save(buf, frames, allow_pickle=False)
    sha = blobs.put_bytes(buf.getvalue())
    worlds = [hashlib.sha256(w.model_dump_json().encode()).hexdigest() for w in request.worlds]
    groups = [f"sim:{sha[:8]}:{i // SIM_CHUNK}" for i in range(len(frames))]
    val = pick_validation(groups, request.val_fraction, request.seed + 1)
    refs = [
        FrameRef(
            source="sim",
            blob_sha256=sha,
            index=i,
            target=int(targets[i]),
            group=groups[i],
            split="val" if groups[i] in val else "train",
            provenance=f"sim-geometry: world {worlds[m.world][:12]}",
            tags=m.tags,
        )
        for i, m in enumerate(meta)
    ]
    pack = SimPack(blob_sha256=sha, frames=len(frames), seed=request.seed, worlds_sha256=worlds)
    return pack, refs
