"""Window cuts: exact messages, preserved records, index use, and clear errors."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

import pytest
from mcap.data_stream import RecordBuilder
from mcap.reader import make_reader
from mcap.records import Footer
from mcap.writer import Writer

from robotops.errors import InvalidRequestError, LogFormatError
from robotops.sim.logs.window import cut_window, log_span

T0 = 1_700_000_000_000_000_000
MS = 1_000_000
SCHEMA = json.dumps({"type": "object", "properties": {"v": {"type": "number"}}}).encode()
# topic -> (period in ms, has a schema)
TOPICS = {"/odom": (10, True), "/camera/meta": (20, True), "/events": (50, False)}


@dataclass(frozen=True, order=True)
class Written:
    """One message as the test wrote it."""

    topic: str
    log_time: int
    publish_time: int
    sequence: int
    data: bytes


def write_log(path: Path, duration_ms: int = 2000, chunk_size: int = 2048) -> list[Written]:
    """Write a log of ``duration_ms`` with small chunks, so that the index has many entries."""
    rng = random.Random(7)
    written: list[Written] = []
    with open(path, "wb") as stream:
        writer = Writer(stream, chunk_size=chunk_size)
        writer.start(profile="robotops-test")
        schema_id = writer.register_schema("test.Sample", "jsonschema", SCHEMA)
        channels = {
            topic: writer.register_channel(
                topic, "json", schema_id if has_schema else 0, {"frame_id": topic.strip("/")}
            )
            for topic, (_, has_schema) in TOPICS.items()
        }
        writer.add_metadata("robot", {"robot_id": "r1", "site": "test"})
        for t_ms in range(duration_ms):
            for topic, (period, _) in TOPICS.items():
                if t_ms % period:
                    continue
                log_time = T0 + t_ms * MS
                data = json.dumps({"v": rng.random(), "noise": rng.randbytes(24).hex()}).encode()
                message = Written(topic, log_time, log_time - 1000, t_ms // period, data)
                writer.add_message(
                    channels[topic], log_time, data, message.publish_time, message.sequence
                )
                written.append(message)
        writer.finish()
    return written


def strip_summary(path: Path) -> None:
    """Rewrite ``path`` without its summary section, as a recorder that crashed might leave it."""
    data = path.read_bytes()
    footer_size = 1 + 8 + 8 + 8 + 4
    summary_start = int.from_bytes(data[-8 - footer_size + 9 : -8 - footer_size + 17], "little")
    builder = RecordBuilder()
    Footer(summary_start=0, summary_offset_start=0, summary_crc=0).write(builder)
    path.write_bytes(data[:summary_start] + builder.end() + data[:8])


@pytest.fixture
def log_file(tmp_path: Path) -> tuple[Path, list[Written]]:
    path = tmp_path / "src.mcap"
    return path, write_log(path)


def _read(path: Path) -> list[Written]:
    with open(path, "rb") as stream:
        return [
            Written(c.topic, m.log_time, m.publish_time, m.sequence, m.data)
            for _, c, m in make_reader(stream).iter_messages()
        ]


def _expected(written: list[Written], start: int, end: int, topics: list[str] | None):
    return sorted(
        m for m in written if start <= m.log_time <= end and (topics is None or m.topic in topics)
    )


@pytest.mark.parametrize("topics", [None, ["/odom", "/events"], ["/camera/meta"]])
def test_cut_keeps_exactly_the_window(log_file, tmp_path: Path, topics) -> None:
    src, written = log_file
    start, end = T0 + 500 * MS, T0 + 1200 * MS  # both on message times: bounds are inclusive
    dst = tmp_path / "out" / "window.mcap"

    result = cut_window(src, dst, start, end, topics)

    expected = _expected(written, start, end, topics)
    assert sorted(_read(dst)) == expected
    assert {m.log_time for m in expected} >= {start, end}
    assert result.message_count == len(expected)
    assert result.topics == sorted({m.topic for m in expected})
    assert result.size_bytes == dst.stat().st_size
    assert result.sha256 == hashlib.sha256(dst.read_bytes()).hexdigest()
    assert [p.name for p in dst.parent.iterdir()] == ["window.mcap"]  # no temp file left


def test_cut_preserves_schemas_channels_metadata_and_compresses(log_file, tmp_path: Path):
    src, _ = log_file
    dst = tmp_path / "window.mcap"
    cut_window(src, dst, T0, T0 + 300 * MS, None)

    with open(src, "rb") as a, open(dst, "rb") as b:
        source, cut = make_reader(a), make_reader(b)
        src_summary, cut_summary = source.get_summary(), cut.get_summary()
        assert cut.get_header().profile == "robotops-test"
        assert [(m.name, m.metadata) for m in cut.iter_metadata()] == [
            (m.name, m.metadata) for m in source.iter_metadata()
        ]
    assert cut_summary is not None and src_summary is not None
    assert {(s.name, s.encoding, s.data) for s in cut_summary.schemas.values()} == {
        (s.name, s.encoding, s.data) for s in src_summary.schemas.values()
    }

    def channels(summary):
        return {
            (c.topic, c.message_encoding, tuple(c.metadata.items()), c.schema_id == 0)
            for c in summary.channels.values()
        }

    assert channels(cut_summary) == channels(src_summary)
    assert {c.compression for c in cut_summary.chunk_indexes} == {"zstd"}


def test_cut_reads_only_the_chunks_of_the_window(log_file, tmp_path: Path) -> None:
    """Corrupt the first chunk: a later window still cuts, so that chunk was never read."""
    src, written = log_file
    with open(src, "rb") as stream:
        summary = make_reader(stream).get_summary()
    assert summary is not None and len(summary.chunk_indexes) > 10
    first = summary.chunk_indexes[0]
    data = bytearray(src.read_bytes())
    middle = first.chunk_start_offset + first.chunk_length // 2
    data[middle : middle + 16] = b"\xff" * 16
    src.write_bytes(bytes(data))

    later = summary.chunk_indexes[-1].message_start_time
    result = cut_window(src, tmp_path / "late.mcap", later, T0 + 10_000 * MS, None)
    assert result.message_count == len(_expected(written, later, T0 + 10_000 * MS, None))

    with pytest.raises(LogFormatError, match="src.mcap"):
        cut_window(src, tmp_path / "all.mcap", T0, T0 + 10_000 * MS, None)
    assert not (tmp_path / "all.mcap").exists()


def test_cut_of_a_file_without_summary(log_file, tmp_path: Path) -> None:
    src, written = log_file
    strip_summary(src)
    with open(src, "rb") as stream:
        assert make_reader(stream).get_summary() is None
    start, end = T0 + 100 * MS, T0 + 900 * MS
    dst = tmp_path / "window.mcap"

    result = cut_window(src, dst, start, end, ["/odom"])

    assert sorted(_read(dst)) == _expected(written, start, end, ["/odom"])
    assert result.topics == ["/odom"]
    with open(dst, "rb") as stream:
        assert [m.name for m in make_reader(stream).iter_metadata()] == ["robot"]


def test_log_span_with_and_without_summary(log_file) -> None:
    src, written = log_file
    indexed = log_span(src)
    strip_summary(src)
    scanned = log_span(src)
    assert (indexed.indexed, scanned.indexed) == (True, False)
    for span in (indexed, scanned):
        assert span.start_ns == min(m.log_time for m in written)
        assert span.end_ns == max(m.log_time for m in written)
        assert span.topics == ["/camera/meta", "/events", "/odom"]
        assert span.message_count == len(written)


@pytest.mark.parametrize("content", [b"", b"not an mcap file at all, just text\n" * 10])
def test_non_mcap_source_is_a_log_format_error(tmp_path: Path, content: bytes) -> None:
    src = tmp_path / "notes.mcap"
    src.write_bytes(content)
    with pytest.raises(LogFormatError, match="notes.mcap"):
        cut_window(src, tmp_path / "out.mcap", T0, T0 + MS, None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.mcap"]


def test_truncated_source_is_a_log_format_error(log_file, tmp_path: Path) -> None:
    src, _ = log_file
    src.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    with pytest.raises(LogFormatError, match="src.mcap"):
        cut_window(src, tmp_path / "out.mcap", T0, T0 + 10_000 * MS, None)


@pytest.mark.parametrize("end_offset", [0, -MS])
def test_empty_window_is_invalid(log_file, tmp_path: Path, end_offset: int) -> None:
    src, _ = log_file
    with pytest.raises(InvalidRequestError, match="end_ns"):
        cut_window(src, tmp_path / "out.mcap", T0 + MS, T0 + MS + end_offset, None)
    assert not (tmp_path / "out.mcap").exists()
