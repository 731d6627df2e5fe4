"""Small real logs for the ingest, reader and salvage tests, and the dependencies they share.

The robot log is written with the simulated fleet's own writer (real ROS 2 schemas, zstd
chunks), without running any physics: a few seconds of a robot that drives, stops in front of a
glaring vest while its drive reports an error, and reports a stall.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from robotops.memory.blobs import LocalBlobStore
from robotops.memory.catalog import Catalog
from robotops.memory.segment_docs import SegmentDoc
from robotops.settings import IngestSettings
from robotops.sim.recording.writer import RobotLogWriter
from robotops.tools.logs.ingest import IngestDeps

T0 = 1_700_000_000_000_000_000  # a multiple of 2 s: segments start at T0, T0 + 2 s, ...
MS = 1_000_000
SHARED_LOGS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "logs"

# path under shared/data/logs -> (format, messages, topics declared, topics that must decode)
SHARED = {
    "rosbag2_talker_mcap": ("mcap", 20, 3, 2),
    "rosbag2_talker_mcap/talker.mcap": ("mcap", 20, 3, 2),
    "rosbag2_cdr_test_db3": ("ros2", 7, 2, 2),
    "rosbag2_msgcomp_zstd_db3": ("ros2", 1127, 3, 2),
    "rosbag2_services_mcap": ("mcap", 10, 5, 4),
    "rosbag2_wrong_rmw_mcap": ("mcap", 7, 2, 0),
    "rosbagsrs_alltypes_mcap": ("mcap", 188, 94, 94),
    "autoware_ego_trajectory_db3/bag_ego_trajectory.db3": ("ros2", 2130, 1, 1),
    "robot_localization_bags/test2.bag": ("ros1", 6121, 2, 2),
    "rosbagjs_fixtures/example-lz4.bag": ("ros1", 8647, 9, 9),
    "keelson_mcap/test.mcap": ("mcap", 2172, 649, 649),
}


@dataclass
class RobotLog:
    """What the test wrote, to check ingest against."""

    path: Path
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def messages(self) -> int:
        return sum(self.counts.values())


def jpeg(glare: bool, seed: int) -> bytes:
    """A 64x48 grey corridor; with glare a white disc covers about a fifth of the frame."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:48, 0:64]
    grey = 60 + 40 * (yy / 48) + rng.normal(0, 2, (48, 64))
    if glare:
        grey = np.where((xx - 40) ** 2 + (yy - 20) ** 2 < 14**2, 255, grey * 0.8)
    rgb = np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="JPEG", quality=95)
    return out.getvalue()


def write_robot_log(
    path: Path,
    robot_id: str = "104",
    seconds: float = 6.0,
    stall: tuple[float, float] = (2.0, 4.0),
    chunk_size: int = 16 * 1024,
) -> RobotLog:
    """Write a small realistic robot log; the robot stops (glare) during ``stall`` seconds."""
    log = RobotLog(path)
    meta = {"robot_id": robot_id, "site": "testsite", "zone": "aisle-3", "policy_version": "v1"}

    def count(topic: str) -> None:
        log.counts[topic] = log.counts.get(topic, 0) + 1

    with RobotLogWriter(path, meta, chunk_size=chunk_size) as writer:
        for t_ms in range(0, int(seconds * 1000), 50):
            t = T0 + t_ms * MS
            stalled = stall[0] * 1000 <= t_ms < stall[1] * 1000
            speed = 0.0 if stalled else 1.0
            writer.odom(t, x=t_ms / 1000, y=0.0, yaw=0.0, v=speed, w=0.0)
            writer.cmd_vel(t, v=0.5 if stalled else 1.0, w=0.0)
            count("/odom")
            count("/cmd_vel")
            if t_ms % 100 == 0:
                writer.scan(t, [2.0] * 16, -1.0, 1.0, 10.0)
                count("/scan")
            if t_ms % 200 == 0:
                writer.image(t, jpeg(glare=stalled, seed=t_ms))
                writer.perception(t, 0.97 if stalled else 0.05, stalled, "v1")
                count("/camera/image/compressed")
                count("/perception/obstacle")
            if t_ms % 1000 == 0:
                writer.diagnostics(
                    t, "drive", 2 if stalled else 0, "motor current limit" if stalled else "ok", {}
                )
                count("/diagnostics")
            if t_ms == int(stall[0] * 1000) + 500:
                writer.event(t, "stall", "warn", robot_id, "aisle-3", "stopped for obstacle")
                count("/events")
    return log


class RecordingIndex:
    """A vector index stand-in that keeps what it was given (the real one has its own tests)."""

    def __init__(self, fail: bool = False) -> None:
        self.docs: list[SegmentDoc] = []
        self.calls = 0
        self.fail = fail

    def add(self, docs: list[SegmentDoc]) -> int:
        self.calls += 1
        if self.fail:
            raise RuntimeError("index is down")
        self.docs.extend(docs)
        return len(docs)

    def delete_log(self, log_id: str) -> int:
        before = len(self.docs)
        self.docs = [d for d in self.docs if d.log_id != log_id]
        return before - len(self.docs)


class EmbeddingRecordingIndex(RecordingIndex):
    """A stand-in that also embeds (one-hot rows by text, so a vector names its text), as the
    real index does: ingest then computes the vectors during the scan and hands them to add."""

    def __init__(self) -> None:
        super().__init__()
        self.vocabulary: list[str] = []
        self.embeddings: np.ndarray | None = None

    def embed(self, texts: list[str]) -> np.ndarray:
        for text in texts:
            if text not in self.vocabulary:
                self.vocabulary.append(text)
        rows = np.zeros((len(texts), 256), np.float32)
        rows[np.arange(len(texts)), [self.vocabulary.index(t) for t in texts]] = 1.0
        return rows

    def add(self, docs: list[SegmentDoc], *, embeddings: np.ndarray | None = None) -> int:
        self.embeddings = embeddings
        return super().add(docs)

    def text_of(self, row: np.ndarray) -> str:
        """The text a vector was embedded from."""
        return self.vocabulary[int(np.argmax(row))]


def make_deps(root: Path, index: RecordingIndex | None = None) -> IngestDeps:
    """Blob store and SQLite catalog under ``root``."""
    return IngestDeps(
        blobs=LocalBlobStore(root / "blobs"),
        catalog=Catalog(f"sqlite:///{root / 'catalog.db'}"),
        settings=IngestSettings(),
        index=index,
        work_dir=root / "work",
    )


def stored_blobs(root: Path) -> list[Path]:
    """Every blob file under ``root/blobs`` (staging excluded)."""
    blobs = root / "blobs"
    return sorted(p for p in blobs.rglob("*") if p.is_file() and ".tmp" not in p.parts)


def test_robot_log_is_valid(tmp_path: Path) -> None:
    from robotops.sim.logs.readers import open_log

    log = write_robot_log(tmp_path / "r.mcap")
    with open_log(log.path) as reader:
        summary = reader.summary()
        assert summary.message_count == log.messages
        assert summary.metadata["robot"]["robot_id"] == "104"
        assert sum(1 for _ in reader.messages()) == log.messages
