"""Small real data for the labeling tests: rendered frames, a camera log, an ingested catalog.

Frames come from the simulated warehouse (a flaring vest straight ahead, an ordinary aisle);
the log is written with the fleet's own recorder and ingested with the real ingest, so labeling
runs over exactly what it meets in production.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from robotops.memory.blobs import LocalBlobStore
from robotops.memory.catalog import Catalog
from robotops.memory.labels import LabelStore
from robotops.memory.segment_docs import SegmentDoc
from robotops.settings import IngestSettings, LabelerSettings
from robotops.sim.episode import encode_jpeg
from robotops.sim.recording.writer import RobotLogWriter
from robotops.sim.world.simulator import WarehouseSim, lane_y
from robotops.sim.world.specs import GlareHazard, WorldSpec
from robotops.tools.labeling.run import LabelDeps
from robotops.tools.labeling.vocabulary import load_vocabulary
from robotops.tools.logs.ingest import IngestDeps, IngestRequest, ingest_log

T0 = 1_700_000_000_000_000_000  # a multiple of 2 s: segments start at T0, T0 + 2 s, ...
SEGMENT_NS = 2_000_000_000


def render_scenes() -> dict[str, np.ndarray]:
    """A frame flared by a reflective vest 3 m ahead, and the same aisle looking away."""
    spec = WorldSpec(aisle=1, hazards=[GlareHazard(x=0.0, intensity=1.5, facing_deg=180.0)])
    sim = WarehouseSim(spec, seed=1)
    try:
        y = lane_y(1, outbound=True)
        sim.teleport((-3.0, y, 0.0), {})
        glare = sim.camera()
        assert sim.last_glare > 0.3
        sim.teleport((-6.0, y, math.pi), {})
        plain = sim.camera()
        assert sim.last_glare < 0.05
    finally:
        sim.close()
    dark = (plain.astype(np.float32) * 0.12).astype(np.uint8)
    return {"glare": glare, "plain": plain, "dark": dark}


@dataclass
class CameraLog:
    path: Path
    kinds: list[str] = field(default_factory=list)  # what each segment holds, in order


def write_camera_log(
    path: Path, scenes: dict[str, np.ndarray], kinds: list[str], robot_id: str = "104"
) -> CameraLog:
    """One 2 s segment per entry of ``kinds``: a scene name (frames at 5 Hz), ``corrupt``
    (camera messages that are not images) or ``blind`` (no camera messages at all)."""
    meta = {"robot_id": robot_id, "site": "testsite", "zone": "aisle-2", "policy_version": "v1"}
    with RobotLogWriter(path, meta) as log:
        for k, kind in enumerate(kinds):
            for i in range(10):
                t = T0 + k * SEGMENT_NS + i * SEGMENT_NS // 10
                log.odom(t, x=k + i / 10, y=0.0, yaw=0.0, v=1.0, w=0.0)
                if kind == "corrupt":
                    log.image(t, b"\xff\xd8 this is not a jpeg")
                elif kind != "blind":
                    log.image(t, encode_jpeg(scenes[kind]))
    return CameraLog(path, kinds)


class RecordingIndex:
    """Keeps what it was given, as the vector index would (the real one has its own tests)."""

    def __init__(self) -> None:
        self.docs: dict[str, SegmentDoc] = {}
        self.versions: dict[str, str] = {}
        self.dropped: list[str] = []

    def add(self, docs: list[SegmentDoc], *, labeler_version: str = "") -> int:
        for doc in docs:
            self.docs[doc.segment_id] = doc
            self.versions[doc.segment_id] = labeler_version
        return len(docs)

    def drop_labeler(self, labeler_version: str) -> int:
        self.dropped.append(labeler_version)
        return 0


def make_label_deps(
    root: Path, index: object | None = None, settings: LabelerSettings | None = None
) -> LabelDeps:
    catalog = Catalog(f"sqlite:///{root / 'catalog.db'}")
    return LabelDeps(
        catalog=catalog,
        blobs=LocalBlobStore(root / "blobs"),
        settings=settings or LabelerSettings(workers=1),
        vocabulary=load_vocabulary(),
        store=LabelStore(catalog),
        index=index,
    )  # type: ignore[arg-type]


def ingest(deps: LabelDeps, log: CameraLog) -> str:
    """Ingest ``log`` into the catalog, blobs and index labeling uses; returns the log id."""
    index = deps.index if hasattr(deps.index, "query") else None  # only a real vector index
    ingest_deps = IngestDeps(
        blobs=deps.blobs,  # type: ignore[arg-type]
        catalog=deps.catalog,
        settings=IngestSettings(),
        index=index,  # type: ignore[arg-type]
    )
    return ingest_log(IngestRequest(path=log.path), ingest_deps).log_id
