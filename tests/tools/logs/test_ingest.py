"""Ingest: one pass, one transaction, content-addressed, a no-op the second time."""

from __future__ import annotations

import stat
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from ingest_support import (
    SHARED,
    SHARED_LOGS,
    T0,
    EmbeddingRecordingIndex,
    RecordingIndex,
    make_deps,
    stored_blobs,
    write_robot_log,
)
from mcap.data_stream import RecordBuilder
from mcap.records import Footer
from sqlalchemy import func, select

from robotops.errors import LogFormatError
from robotops.memory.blobs import hash_file
from robotops.memory.catalog import ArtifactRow, LogRow
from robotops.memory.lineage import ancestors, descendants, lineage
from robotops.tools.logs import ingest
from robotops.tools.logs.features import Segment, describe
from robotops.tools.logs.ingest import IngestRequest, discover_logs, ingest_log

S = 1_000_000_000


def _rows(deps, table) -> int:
    with deps.catalog.session() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def test_robot_log_is_indexed(tmp_path: Path) -> None:
    log = write_robot_log(tmp_path / "104.mcap")
    index = RecordingIndex()
    deps = make_deps(tmp_path / "data", index)
    result = ingest_log(IngestRequest(path=log.path), deps)

    assert result.status == "ingested"
    assert result.log_id == hash_file(log.path)
    assert (result.robot_id, result.site, result.format) == ("104", "testsite", "mcap")
    assert result.message_count == log.messages
    assert (result.start_ns, result.end_ns) == (T0, T0 + 5950 * 1_000_000)
    topics = {t.name: t for t in deps.catalog.topics(result.log_id)}
    assert {name: t.message_count for name, t in topics.items()} == log.counts
    assert all(t.decoded_ok for t in topics.values())

    segments = deps.catalog.segments(result.log_id)
    assert [s.start_ns for s in segments] == [T0, T0 + 2 * S, T0 + 4 * S]
    moving, stalled, _ = segments
    assert moving.features["speed"]["min"] == pytest.approx(1.0)
    assert moving.features["topics"]["/odom"]["rate_hz"] == pytest.approx(20.0)
    assert stalled.features["speed"]["max"] == 0.0
    assert stalled.features["cameras"]["/camera/image/compressed"]["saturated_frac"] > 0.1
    for words in (
        "robot 104",
        "stopped",
        "speed 0.0 m/s",
        "commanded 0.5 m/s but not moving",
        "obstacle probability up to 0.97",
        "glare?",
        "stall",
        "diagnostic_error",
    ):
        assert words in stalled.description
    assert "glare" not in moving.description and "moving" in moving.description

    events = deps.catalog.events(result.log_id)
    assert [(e.kind, e.time_ns) for e in events] == [
        ("diagnostic_error", T0 + 2 * S),
        ("stall", T0 + 2500 * 1_000_000),
    ]
    assert "motor current limit" in events[0].detail

    assert [d.segment_id for d in index.docs] == [s.id for s in segments]
    assert index.docs[1].events == ["diagnostic_error", "stall"]
    assert all(d.robot_id == "104" and d.site == "testsite" for d in index.docs)
    assert all(s.thumbnail_sha and deps.blobs.exists(s.thumbnail_sha) for s in segments)
    assert all(d.thumbnail and Path(d.thumbnail).is_file() for d in index.docs)
    assert deps.blobs.exists(result.log_id)  # the log's own bytes are kept
    assert result.thumbnail_count == 3 and result.event_count == 2


def test_second_ingest_is_a_no_op(tmp_path: Path) -> None:
    log = write_robot_log(tmp_path / "104.mcap")
    index = RecordingIndex()
    deps = make_deps(tmp_path / "data", index)
    first = ingest_log(IngestRequest(path=log.path), deps)
    blobs = stored_blobs(tmp_path / "data")
    rows = [_rows(deps, LogRow), _rows(deps, ArtifactRow)]

    copy = tmp_path / "elsewhere" / "same-bytes.mcap"
    copy.parent.mkdir()
    copy.write_bytes(log.path.read_bytes())
    for path in (log.path, copy):
        again = ingest_log(IngestRequest(path=path), deps)
        assert again.status == "already_ingested"
        assert again.log_id == first.log_id
        assert (again.segment_count, again.topic_count, again.event_count) == (
            first.segment_count,
            first.topic_count,
            first.event_count,
        )
    assert index.calls == 1
    assert stored_blobs(tmp_path / "data") == blobs
    assert [_rows(deps, LogRow), _rows(deps, ArtifactRow)] == rows


def test_an_index_that_embeds_gets_vectors_made_during_the_scan(tmp_path: Path) -> None:
    log = write_robot_log(tmp_path / "104.mcap")
    index = EmbeddingRecordingIndex()
    deps = make_deps(tmp_path / "data", index)
    result = ingest_log(IngestRequest(path=log.path), deps)

    segments = deps.catalog.segments(result.log_id)
    assert index.calls == 1 and index.embeddings is not None
    assert len(index.embeddings) == len(index.docs) == len(segments) == 3
    for doc, row, segment in zip(index.docs, index.embeddings, segments, strict=True):
        assert doc.text == segment.description  # the index keeps the full description
        # ... and its vector is that of the description with fractions to one decimal
        assert index.text_of(row) == describe(segment.features, "104", "aisle-3", digits=1)
    assert "obstacle probability up to 0.97" in segments[1].description
    assert "obstacle probability up to 1.0" in index.text_of(index.embeddings[1])


def test_a_known_log_stops_the_scan_early(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = write_robot_log(tmp_path / "104.mcap")
    index = EmbeddingRecordingIndex()
    deps = make_deps(tmp_path / "data", index)
    first = ingest_log(IngestRequest(path=log.path), deps)
    blobs = stored_blobs(tmp_path / "data")

    scans: list[ingest._Scan] = []
    scan, ask = ingest._scan, ingest._AlreadyIngested.__call__

    def recorded(*args: object) -> ingest._Scan:
        scans.append(scan(*args))
        return scans[-1]

    def after_storing(self: ingest._AlreadyIngested) -> bool:
        self.storing.result()  # as if storing the bytes were quicker than this small scan
        return ask(self)

    monkeypatch.setattr(ingest, "_scan", recorded)
    monkeypatch.setattr(ingest, "PROGRESS_EVERY", 10)
    monkeypatch.setattr(ingest._AlreadyIngested, "__call__", after_storing)
    again = ingest_log(IngestRequest(path=log.path), deps)
    assert again.status == "already_ingested" and again.log_id == first.log_id
    assert scans[0].stopped and scans[0].messages == 10 < log.messages
    assert index.calls == 1 and stored_blobs(tmp_path / "data") == blobs


def test_link_keeps_the_log_itself(tmp_path: Path) -> None:
    log = write_robot_log(tmp_path / "104.mcap")
    deps = make_deps(tmp_path / "data")
    result = ingest_log(IngestRequest(path=log.path, link=True), deps)
    blob = deps.blobs.path_of(result.log_id)
    assert blob.stat().st_ino == log.path.stat().st_ino  # no copy: the same file
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o444  # and it is read-only now
    assert result.log_id == hash_file(log.path)
    assert ingest_log(IngestRequest(path=log.path), deps).status == "already_ingested"


def test_segments_described_before_the_metadata_are_embedded_again() -> None:
    """A file without a summary may declare its robot late: descriptions made before that are
    made again, and so are their vectors."""
    reader = SimpleNamespace(metadata={})
    embedded: list[list[str]] = []

    def embed(texts: list[str]) -> np.ndarray:
        embedded.append(list(texts))
        return np.zeros((len(texts), 4), np.float32)

    request = IngestRequest(path=Path("robot.mcap"))
    with ingest._Describer(request, reader, embed) as describer:  # type: ignore[arg-type]
        describer.add([Segment(T0, T0 + 2 * S)])
        reader.metadata = {"robot": {"robot_id": "104", "zone": "aisle-3"}}
        who = ingest._identity(request, reader.metadata)
        described, vectors = describer.finish("f" * 64, who)
    assert described[0].text.startswith("robot 104 in aisle-3")
    assert embedded[-1] == [describe(described[0].features, "104", "aisle-3", digits=1)]
    assert vectors is not None and len(vectors) == 1


@pytest.mark.parametrize("name", sorted(SHARED))
def test_shared_logs_ingest(tmp_path: Path, name: str) -> None:
    fmt, messages, topics, decodable = SHARED[name]
    deps = make_deps(tmp_path, RecordingIndex())
    result = ingest_log(IngestRequest(path=SHARED_LOGS / name), deps)
    assert (result.format, result.message_count, result.topic_count) == (fmt, messages, topics)
    rows = deps.catalog.topics(result.log_id)
    assert sum(t.message_count for t in rows) == messages
    assert sum(bool(t.decoded_ok) for t in rows) == decodable
    assert result.segment_count >= 1
    assert all(t.note for t in rows if t.message_count and not t.decoded_ok)


def test_empty_file_stores_nothing(tmp_path: Path) -> None:
    deps = make_deps(tmp_path / "data", RecordingIndex())
    with pytest.raises(LogFormatError, match="empty"):
        ingest_log(IngestRequest(path=SHARED_LOGS / "rosbagjs_fixtures/empty-file.bag"), deps)
    assert _rows(deps, LogRow) == 0 and _rows(deps, ArtifactRow) == 0
    assert stored_blobs(tmp_path / "data") == []


def test_failure_inside_the_transaction_stores_nothing(tmp_path: Path) -> None:
    log = write_robot_log(tmp_path / "104.mcap")
    deps = make_deps(tmp_path / "data", RecordingIndex(fail=True))
    with pytest.raises(RuntimeError, match="index is down"):
        ingest_log(IngestRequest(path=log.path), deps)
    assert _rows(deps, LogRow) == 0 and _rows(deps, ArtifactRow) == 0
    assert stored_blobs(tmp_path / "data") == []
    deps.index = RecordingIndex()
    assert ingest_log(IngestRequest(path=log.path), deps).status == "ingested"


def test_catalogue_failure_takes_back_the_index_and_blobs(tmp_path: Path) -> None:
    """The database itself refuses the topic rows (a trigger, as a full disk or a constraint
    would): the whole ingest is taken back, through the public entry point."""
    import sqlite3

    log = write_robot_log(tmp_path / "104.mcap")
    index = RecordingIndex()
    deps = make_deps(tmp_path / "data", index)
    with sqlite3.connect(tmp_path / "data" / "catalog.db") as db:
        db.execute(
            "CREATE TRIGGER full BEFORE INSERT ON topics "
            "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    with pytest.raises(Exception, match="disk full"):
        ingest_log(IngestRequest(path=log.path), deps)
    assert index.calls == 1 and index.docs == []
    assert _rows(deps, LogRow) == 0 and _rows(deps, ArtifactRow) == 0
    assert stored_blobs(tmp_path / "data") == []


def test_bag_directory_is_named_by_its_manifest(tmp_path: Path) -> None:
    deps = make_deps(tmp_path)
    bag = SHARED_LOGS / "rosbag2_talker_mcap"
    result = ingest_log(IngestRequest(path=bag), deps)
    log = deps.catalog.get_log(result.log_id)
    assert sorted(f["name"] for f in log.files) == ["metadata.yaml", "talker.mcap"]
    assert result.log_id != hash_file(bag / "talker.mcap")
    assert all(deps.blobs.exists(f["sha256"]) for f in log.files)
    assert ingest_log(IngestRequest(path=bag), deps).status == "already_ingested"


def test_provenance_of_an_ingested_log(tmp_path: Path) -> None:
    log = write_robot_log(tmp_path / "104.mcap")
    deps = make_deps(tmp_path / "data")
    result = ingest_log(IngestRequest(path=log.path), deps)
    seen = lineage(deps.catalog, result.log_id[:10])
    assert seen.artifact.kind == "log" and seen.parents == []
    assert {c.kind for c in seen.children} == {"thumbnail"}
    thumbs = deps.catalog.segments(result.log_id)[0].thumbnail_sha
    assert ancestors(deps.catalog, thumbs) == [result.log_id]
    assert thumbs in descendants(deps.catalog, result.log_id)


def test_overrides_and_unindexed_file(tmp_path: Path) -> None:
    log = write_robot_log(tmp_path / "104.mcap")
    _strip_summary(log.path)
    deps = make_deps(tmp_path / "data")
    result = ingest_log(IngestRequest(path=log.path, site="elsewhere"), deps)
    assert (result.robot_id, result.site) == ("104", "elsewhere")  # metadata found in the scan
    assert result.message_count == log.messages and result.segment_count == 3
    assert any("no summary" in note for note in result.notes)


def test_discover_logs_in_folders(tmp_path: Path) -> None:
    write_robot_log(tmp_path / "robots" / "1" / "a.mcap", seconds=1)
    write_robot_log(tmp_path / "robots" / "2" / "b.mcap", seconds=1)
    (tmp_path / "robots" / "README.txt").write_text("not a log")
    (tmp_path / "robots" / "2" / "c.mcap.part").write_bytes(b"\x89MCAP0\r\n")  # recording
    (tmp_path / "robots" / "2" / "broken.bag").write_bytes(b"")
    found = list(discover_logs(tmp_path / "robots"))
    assert [p.name for p in found] == ["a.mcap", "b.mcap", "broken.bag"]
    assert list(discover_logs(SHARED_LOGS / "rosbag2_talker_mcap")) == [
        SHARED_LOGS / "rosbag2_talker_mcap"
    ]


def _strip_summary(path: Path) -> None:
    """Rewrite ``path`` without its summary section, as a recorder that crashed might."""
    data = path.read_bytes()
    footer_size = 1 + 8 + 8 + 8 + 4
    summary_start = int.from_bytes(data[-8 - footer_size + 9 : -8 - footer_size + 17], "little")
    builder = RecordBuilder()
    Footer(summary_start=0, summary_offset_start=0, summary_crc=0).write(builder)
    path.write_bytes(data[:summary_start] + builder.end() + data[:8])
