"""Damaged MCAPs: a precise error by default, a repaired copy with provenance on request."""

from __future__ import annotations

from pathlib import Path

import pytest
from ingest_support import RecordingIndex, make_deps, stored_blobs, write_robot_log
from mcap.reader import make_reader
from sqlalchemy import func, select

from robotops.errors import LogFormatError
from robotops.memory.blobs import hash_file
from robotops.memory.catalog import ArtifactRow, LogRow
from robotops.memory.lineage import ancestors, descendants, parents
from robotops.sim.logs.readers import open_log, scan_readable
from robotops.tools.logs.ingest import IngestRequest, ingest_log
from robotops.tools.logs.salvage import salvage_mcap


@pytest.fixture(scope="module")
def good_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    log = write_robot_log(
        tmp_path_factory.mktemp("src") / "104.mcap", seconds=6.0, chunk_size=8 * 1024
    )
    return log.path, log.messages


def _truncated(src: Path, dst: Path, fraction: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def _count(deps, table) -> int:
    with deps.catalog.session() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


@pytest.mark.parametrize("fraction", [0.02, 0.3, 0.55, 0.8, 0.999])
def test_truncated_log_is_rejected_with_offset(
    tmp_path: Path, good_log: tuple[Path, int], fraction: float
) -> None:
    path = _truncated(good_log[0], tmp_path / "cut.mcap", fraction)
    deps = make_deps(tmp_path / "data", RecordingIndex())
    with pytest.raises(LogFormatError) as err:
        ingest_log(IngestRequest(path=path), deps)
    assert err.value.path == str(path)
    assert err.value.offset is not None and 0 < err.value.offset <= path.stat().st_size
    assert f"at byte {err.value.offset}" in str(err.value) and "--salvage" in str(err.value)
    assert _count(deps, LogRow) == 0 and _count(deps, ArtifactRow) == 0
    assert stored_blobs(tmp_path / "data") == []


@pytest.mark.parametrize("fraction", [0.3, 0.55, 0.8, 0.999])
def test_salvage_ingests_what_is_readable(
    tmp_path: Path, good_log: tuple[Path, int], fraction: float
) -> None:
    path = _truncated(good_log[0], tmp_path / "cut.mcap", fraction)
    readable, messages, complete = scan_readable(path)
    assert not complete and 0 < messages <= good_log[1]  # at 0.999 only the summary is lost
    index = RecordingIndex()
    deps = make_deps(tmp_path / "data", index)
    result = ingest_log(IngestRequest(path=path, salvage=True), deps)

    assert result.status == "ingested" and result.message_count == messages
    original = hash_file(path)
    assert result.salvaged_from == original and result.log_id != original
    assert result.robot_id == "104"  # the metadata record survived
    if messages < good_log[1]:
        assert f"readable up to byte {readable} of" in result.notes[0]
    else:
        assert f"all {messages} messages were readable" in result.notes[0]
    assert deps.blobs.exists(original) and deps.blobs.exists(result.log_id)
    with deps.blobs.open(result.log_id) as repaired:  # a valid, indexed MCAP
        summary = make_reader(repaired).get_summary()
        assert summary is not None and summary.statistics.message_count == messages
    assert [(e.sha256, e.relation) for e in parents(deps.catalog, result.log_id)] == [
        (original, "salvaged-from")
    ]
    assert ancestors(deps.catalog, result.log_id) == [original]
    assert result.log_id in descendants(deps.catalog, original)
    assert deps.catalog.get_log(result.log_id).source_path == str(path)
    assert index.docs and all(d.log_id == result.log_id for d in index.docs)

    again = ingest_log(IngestRequest(path=path, salvage=True), deps)  # repair is deterministic
    assert again.status == "already_ingested" and again.log_id == result.log_id


def test_corrupt_chunk_is_rejected_then_salvaged(
    tmp_path: Path, good_log: tuple[Path, int]
) -> None:
    data = bytearray(good_log[0].read_bytes())
    with open(good_log[0], "rb") as stream:
        chunks = make_reader(stream).get_summary().chunk_indexes
    assert len(chunks) >= 4
    bad = chunks[2]
    middle = bad.chunk_start_offset + bad.chunk_length // 2
    data[middle : middle + 64] = bytes(64)
    path = tmp_path / "flipped.mcap"
    path.write_bytes(bytes(data))
    deps = make_deps(tmp_path / "data")
    with pytest.raises(LogFormatError) as err:
        ingest_log(IngestRequest(path=path), deps)
    assert err.value.offset == bad.chunk_start_offset  # the damaged chunk is where reading stops
    assert _count(deps, LogRow) == 0

    result = ingest_log(IngestRequest(path=path, salvage=True), deps)
    with open(good_log[0], "rb") as stream:
        before = sum(
            1
            for _, _, m in make_reader(stream).iter_messages(log_time_order=False)
            if m.log_time <= chunks[1].message_end_time
        )
    assert 0 < result.message_count == scan_readable(path)[1] <= before
    assert result.salvaged_from == hash_file(path)


def test_not_mcap_cannot_be_salvaged(tmp_path: Path) -> None:
    path = tmp_path / "fake.mcap"
    path.write_bytes(b"this is not an mcap file at all")
    deps = make_deps(tmp_path / "data")
    with pytest.raises(LogFormatError, match="not an MCAP file"):
        ingest_log(IngestRequest(path=path, salvage=True), deps)
    with pytest.raises(LogFormatError, match="not an MCAP file"):
        salvage_mcap(path, tmp_path / "out.mcap")
    assert not (tmp_path / "out.mcap").exists()


def test_salvage_of_header_only_fails_cleanly(tmp_path: Path, good_log: tuple[Path, int]) -> None:
    path = _truncated(good_log[0], tmp_path / "cut.mcap", 0.01)
    with pytest.raises(LogFormatError, match="nothing to salvage"):
        salvage_mcap(path, tmp_path / "out.mcap")
    assert list(tmp_path.iterdir()) == [path]


def test_salvage_of_a_good_file_keeps_everything(
    tmp_path: Path, good_log: tuple[Path, int]
) -> None:
    result = salvage_mcap(good_log[0], tmp_path / "copy.mcap")
    assert result.reason is None and result.messages == good_log[1]
    with open_log(result.path) as reader:
        assert sum(1 for _ in reader.messages()) == good_log[1]
        assert reader.summary().metadata["robot"]["robot_id"] == "104"
