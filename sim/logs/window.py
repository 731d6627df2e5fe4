"""Cut a time window out of an MCAP log into a new, self-contained MCAP.

The window is read through the source's summary (chunk indexes), so only the chunks that
overlap the window are read and decompressed: cutting ten seconds out of a ten-gigabyte log costs
ten seconds of data, not ten gigabytes. A log written without a summary has no index; it is read
in one linear pass instead. Either way the output streams to disk, so memory does not grow with
the size of the log.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, TypeVar

from mcap.reader import SeekingReader
from mcap.records import Channel, Header, Message, Metadata, Schema
from mcap.stream_reader import StreamReader
from mcap.summary import Summary
from mcap.writer import CompressionType, Writer
from pydantic import BaseModel, Field

from robotops.errors import InvalidRequestError, LogFormatError, NotFoundError
from robotops.memory.blobs import hash_file
from robotops.sim.logs.readers.mcap_reader import MCAP_ERRORS

T = TypeVar("T")


class WindowResult(BaseModel):
    """What a window cut produced: enough to verify and catalogue the new file."""

    path: Path
    start_ns: int = Field(description="first log time included, ns (inclusive)")
    end_ns: int = Field(description="last log time included, ns (inclusive)")
    message_count: int
    size_bytes: int
    topics: list[str] = Field(description="topics that have at least one message in the cut")
    sha256: str


class LogSpan(BaseModel):
    """The time span and topics an MCAP covers, as its summary states them."""

    start_ns: int
    end_ns: int
    topics: list[str]
    message_count: int
    indexed: bool = Field(description="False when the file had no summary and was scanned")


class _WindowWriter:
    """Copies messages into a Writer, registering each schema and channel on first use."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self.schema_ids: dict[int, int] = {}
        self.channel_ids: dict[int, int] = {}
        self.topic_counts: dict[str, int] = {}

    def add(self, schema: Schema | None, channel: Channel, message: Message) -> None:
        out_channel = self.channel_ids.get(channel.id)
        if out_channel is None:
            out_schema = 0
            if schema is not None:
                out_schema = self.schema_ids.get(schema.id, 0)
                if not out_schema:
                    out_schema = self.writer.register_schema(
                        schema.name, schema.encoding, schema.data
                    )
                    self.schema_ids[schema.id] = out_schema
            out_channel = self.writer.register_channel(
                channel.topic, channel.message_encoding, out_schema, dict(channel.metadata)
            )
            self.channel_ids[channel.id] = out_channel
        self.writer.add_message(
            out_channel, message.log_time, message.data, message.publish_time, message.sequence
        )
        self.topic_counts[channel.topic] = self.topic_counts.get(channel.topic, 0) + 1

    def add_metadata(self, metadata: Metadata) -> None:
        self.writer.add_metadata(metadata.name, dict(metadata.metadata))


def check_window_request(src: Path, start_ns: int, end_ns: int, topics: list[str] | None) -> None:
    """Refuse an empty window, an empty topic list or a missing file before any work."""
    if end_ns <= start_ns:
        raise InvalidRequestError(
            f"empty time window for {src}: end_ns {end_ns} must be greater than start_ns {start_ns}"
        )
    if topics is not None and not topics:
        raise InvalidRequestError(f"no topics asked for from {src}; pass None for every topic")
    if not Path(src).is_file():
        raise NotFoundError("log file", str(src))


def cut_window(
    src: Path, dst: Path, start_ns: int, end_ns: int, topics: list[str] | None
) -> WindowResult:
    """Write the messages of ``src`` logged in ``[start_ns, end_ns]`` (both inclusive) to ``dst``.

    Use it to turn an incident window into a small, valid MCAP that can be uploaded, labelled or
    replayed on its own. Schemas, channels (with their metadata), message times and sequence
    numbers and the source's metadata records are preserved; chunks are zstd-compressed.
    ``dst`` appears atomically: readers see no file or the whole file, never a partial one.

    Args:
        src: the source MCAP.
        dst: where to write the window (its folder is created).
        start_ns: first log time to keep, ns.
        end_ns: last log time to keep, ns; must be greater than ``start_ns``.
        topics: topics to keep; None keeps every topic.

    Raises:
        InvalidRequestError: the window is empty (``end_ns <= start_ns``) or ``topics`` is [].
        NotFoundError: ``src`` does not exist.
        LogFormatError: ``src`` is not MCAP, or is truncated or corrupt where it was read.
    """
    check_window_request(src, start_ns, end_ns, topics)
    src, dst = Path(src), Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(src, "rb") as source, open(tmp, "wb") as out:
            writer = Writer(out, compression=CompressionType.ZSTD)
            sink = _WindowWriter(writer)
            _copy_window(src, source, writer, sink, start_ns, end_ns, topics)
            writer.finish()
            out.flush()
            os.fsync(out.fileno())
        digest = hash_file(tmp)
        size = tmp.stat().st_size
        os.replace(tmp, dst)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return WindowResult(
        path=dst,
        start_ns=start_ns,
        end_ns=end_ns,
        message_count=sum(sink.topic_counts.values()),
        size_bytes=size,
        topics=sorted(sink.topic_counts),
        sha256=digest,
    )


def log_span(path: Path) -> LogSpan:
    """Read the time span and topics of an MCAP, from its summary when it has one.

    Use it to list logs without reading them; a file with no summary is scanned once.

    Raises:
        LogFormatError: the file is not MCAP or is corrupt.
    """
    path = Path(path)
    with open(path, "rb") as stream:
        summary = _guard(path, stream, lambda: SeekingReader(stream).get_summary())
        if summary is not None and summary.statistics is not None:
            stats = summary.statistics
            return LogSpan(
                start_ns=stats.message_start_time,
                end_ns=stats.message_end_time,
                topics=sorted({c.topic for c in summary.channels.values()}),
                message_count=stats.message_count,
                indexed=True,
            )
        stream.seek(0)
        start, end, count, topics = None, None, 0, set()
        for _, channel, message in _linear_messages(path, stream, None, None, None, []):
            count += 1
            topics.add(channel.topic)
            start = message.log_time if start is None else min(start, message.log_time)
            end = message.log_time if end is None else max(end, message.log_time)
        return LogSpan(
            start_ns=0 if start is None else start,
            end_ns=0 if end is None else end,
            topics=sorted(topics),
            message_count=count,
            indexed=False,
        )


def _copy_window(
    path: Path,
    source: IO[bytes],
    writer: Writer,
    sink: _WindowWriter,
    start_ns: int,
    end_ns: int,
    topics: list[str] | None,
) -> None:
    """Copy through the chunk indexes when the source has them, else in one linear pass."""
    reader = _guard(path, source, lambda: SeekingReader(source, validate_crcs=True))
    header: Header = _guard(path, source, reader.get_header)
    summary = _guard(path, source, reader.get_summary)
    if summary is None or not _indexes_usable(summary):
        # No index to seek with: one pass over the records, metadata collected on the way.
        source.seek(0)
        metadata: list[Metadata] = []
        writer.start(profile=header.profile)
        for schema, channel, message in _linear_messages(
            path, source, start_ns, end_ns, topics, metadata
        ):
            sink.add(schema, channel, message)
        for record in metadata:
            sink.add_metadata(record)
        return
    writer.start(profile=header.profile)
    for record in _guarded(path, source, reader.iter_metadata()):
        sink.add_metadata(record)
    messages = reader.iter_messages(topics, starting_at=start_ns, ending_at=end_ns)
    for schema, channel, message in _guarded(path, source, messages):
        sink.add(schema, channel, message)


def _indexes_usable(summary: Summary) -> bool:
    """True when the summary has chunk indexes and declares every channel they point to."""
    return bool(summary.chunk_indexes) and all(
        channel_id in summary.channels
        for index in summary.chunk_indexes
        for channel_id in index.message_index_offsets
    )


def _linear_messages(
    path: Path,
    source: IO[bytes],
    start_ns: int | None,
    end_ns: int | None,
    topics: list[str] | None,
    metadata: list[Metadata],
) -> Iterator[tuple[Schema | None, Channel, Message]]:
    """Yield matching messages in file order; append Metadata records to ``metadata``."""
    schemas: dict[int, Schema] = {}
    channels: dict[int, Channel] = {}
    wanted = None if topics is None else set(topics)
    records = StreamReader(source, validate_crcs=True).records
    for record in _guarded(path, source, records):
        if isinstance(record, Schema):
            schemas[record.id] = record
        elif isinstance(record, Channel):
            channels[record.id] = record
        elif isinstance(record, Metadata):
            metadata.append(record)
        elif isinstance(record, Message):
            channel = channels.get(record.channel_id)
            if channel is None:
                raise LogFormatError(
                    str(path), f"message on undeclared channel {record.channel_id}", source.tell()
                )
            if wanted is not None and channel.topic not in wanted:
                continue
            if start_ns is not None and record.log_time < start_ns:
                continue
            if end_ns is not None and record.log_time > end_ns:
                continue
            yield schemas.get(channel.schema_id), channel, record


def _guarded(path: Path, source: IO[bytes], items: Iterable[T]) -> Iterator[T]:
    """Re-raise what a reader raises mid-iteration as a LogFormatError naming the file."""
    try:
        yield from items
    except MCAP_ERRORS as exc:
        raise _format_error(path, source, exc) from exc


def _guard(path: Path, source: IO[bytes], call: Callable[[], T]) -> T:
    """Call ``call`` and turn a reader error into a LogFormatError naming the file."""
    try:
        return call()
    except MCAP_ERRORS as exc:
        raise _format_error(path, source, exc) from exc


def _format_error(path: Path, source: IO[bytes], exc: Exception) -> LogFormatError:
    offset = None
    with contextlib.suppress(OSError, ValueError):
        offset = source.tell()
    reason = str(exc) or type(exc).__name__
    return LogFormatError(str(path), f"not a readable MCAP file ({reason})", offset)
