"""MCAP files, and ROS 2 bags whose storage is MCAP (read file by file, because rosbags'
directory reader can miss their messages), plus the diagnosis of truncated or corrupt files."""

from __future__ import annotations

import heapq
import itertools
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TypeVar

import zstandard
from mcap.data_stream import ReadDataStream
from mcap.decoder import DecoderFactory as McapDecoderFactory
from mcap.exceptions import McapError
from mcap.reader import SeekingReader
from mcap.records import Channel, Chunk, Message, Metadata, Schema
from mcap.stream_reader import StreamReader, breakup_chunk
from mcap.summary import Summary

from robotops.errors import LogFormatError
from robotops.sim.logs.readers.bagdir import (
    apply_bag_counts,
    bag_files,
    bag_storage,
    bag_yaml_path,
)
from robotops.sim.logs.readers.base import (
    ChannelInfo,
    LogMessage,
    LogReader,
    LogSummary,
    starts_with,
)
from robotops.sim.logs.readers.decoders import MCAP_DECODER_FACTORIES, mcap_decoder

MCAP_MAGIC = b"\x89MCAP0\r\n"

# What the mcap readers raise on a file that is not MCAP, truncated or corrupt (bad CRC, bad
# compressed data, records pointing nowhere); OSError covers seeking before the start of a file
# shorter than a footer. The one set every reader, window cut and reduction catches.
MCAP_ERRORS = (
    McapError,
    ValueError,
    KeyError,
    IndexError,
    EOFError,
    struct.error,
    OSError,
    zstandard.ZstdError,
    RuntimeError,
)

T = TypeVar("T")


class McapLogReader(LogReader):
    """An MCAP file, or a ROS 2 bag directory whose storage is MCAP (split files merged)."""

    format = "mcap"
    description = "MCAP file"
    accepts = "an MCAP file (.mcap), or a ROS 2 bag directory with MCAP storage"

    @classmethod
    def detect(cls, path: Path) -> int:
        if path.is_dir():
            return 1 if bag_storage(path) == "mcap" else 0
        if starts_with(path, MCAP_MAGIC):
            return 2
        return 1 if path.suffix == ".mcap" else 0

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._files: list[tuple[Path, IO[bytes], SeekingReader, Summary | None]] = []
        self._factories: list[list[McapDecoderFactory]] = []
        self._declared_total: int | None = None
        self._span: tuple[int, int] | None = None
        try:
            data_files = (
                bag_files(self.path, ".mcap", self.notes) if self.path.is_dir() else [self.path]
            )
            self.files = [*data_files, *bag_yaml_path(self.path)]
            for data_file in data_files:
                self._open_file(data_file)
            apply_bag_counts(self.path, self._channels, self.notes)
        except BaseException:
            self.close()
            raise

    def _open_file(self, path: Path) -> None:
        stream = self._stack.enter_context(open(path, "rb"))  # noqa: SIM115 - exit stack
        head = stream.read(len(MCAP_MAGIC))
        if head != MCAP_MAGIC:
            raise LogFormatError(
                str(path),
                f"not an MCAP file: it starts with {head[:8]!r}, not the MCAP magic {MCAP_MAGIC!r}",
                0,
            )
        stream.seek(0)
        try:
            reader = SeekingReader(stream, validate_crcs=True)
            summary = reader.get_summary()
            metadata = list(reader.iter_metadata()) if summary is not None else []
        except MCAP_ERRORS as exc:
            raise diagnose_mcap(path, exc) from exc
        index = len(self._files)
        self._files.append((path, stream, reader, summary))
        self._factories.append([make() for make in MCAP_DECODER_FACTORIES])
        for record in metadata:
            self.metadata[record.name] = dict(record.metadata)
        if summary is None:
            self.notes.append(f"{path.name} has no summary section: read in one linear pass")
            return
        counts = summary.statistics.channel_message_counts if summary.statistics else {}
        for channel in summary.channels.values():
            info = self._mcap_channel(index, summary.schemas.get(channel.schema_id), channel)
            declared = counts.get(channel.id)
            if declared is not None:
                info.declared_count = (info.declared_count or 0) + declared
        if summary.statistics is not None:
            stats = summary.statistics
            self._declared_total = (self._declared_total or 0) + stats.message_count
            if stats.message_count:
                low, high = stats.message_start_time, stats.message_end_time
                if self._span is not None:
                    low, high = min(low, self._span[0]), max(high, self._span[1])
                self._span = (low, high)

    def _mcap_channel(self, index: int, schema: Schema | None, channel: Channel) -> ChannelInfo:
        name = schema.name if schema is not None else ""
        info = self._channel(
            channel.topic,
            name,
            channel.message_encoding,
            schema_encoding=schema.encoding if schema is not None else "",
        )
        if info.build is None:
            factories = self._factories[index]
            info.build = lambda: mcap_decoder(factories, channel.message_encoding, schema)
        return info

    def summary(self) -> LogSummary:
        indexed = all(s is not None and _indexes_usable(s) for *_, s in self._files)
        start, end = self._span or (None, None)
        return self._summary(
            start_ns=start,
            end_ns=end,
            message_count=self._declared_total
            if all(s is not None and s.statistics for *_, s in self._files)
            else None,
            indexed=indexed,
        )

    def messages(self) -> Iterator[LogMessage]:
        streams = [self._file_messages(i) for i in range(len(self._files))]
        if len(streams) == 1:
            yield from streams[0]
        else:
            yield from heapq.merge(*streams, key=lambda m: m.log_time_ns)

    def _file_messages(self, index: int) -> Iterator[LogMessage]:
        path, stream, reader, summary = self._files[index]
        if summary is None or not _indexes_usable(summary):
            yield from self._linear_messages(index)
            return
        if _chunks_in_time_order(summary):
            records = _chunk_by_chunk(stream, summary)
        else:  # overlapping chunks: let the mcap reader merge them by time
            records = reader.iter_messages(log_time_order=True)
        for schema, channel, message in _guarded(path, stream, records):
            yield LogMessage(
                self._mcap_channel(index, schema, channel), message.log_time, message.data
            )

    def _linear_messages(self, index: int) -> Iterator[LogMessage]:
        """No index to seek with: one streaming pass in file order (never sorted in memory)."""
        path, stream, *_ = self._files[index]
        stream.seek(0)
        schemas: dict[int, Schema] = {}
        channels: dict[int, ChannelInfo] = {}
        for record in _guarded(path, stream, StreamReader(stream, validate_crcs=True).records):
            if isinstance(record, Schema):
                schemas[record.id] = record
            elif isinstance(record, Channel):
                channels[record.id] = self._mcap_channel(
                    index, schemas.get(record.schema_id), record
                )
            elif isinstance(record, Metadata):
                self.metadata[record.name] = dict(record.metadata)
            elif isinstance(record, Message):
                info = channels.get(record.channel_id)
                if info is None:
                    raise LogFormatError(
                        str(path),
                        f"message on undeclared channel {record.channel_id}",
                        stream.tell(),
                    )
                yield LogMessage(info, record.log_time, record.data)


def _chunks_in_time_order(summary: Summary) -> bool:
    """True when no chunk starts before the one before it ends: reading chunk by chunk is then
    reading in time order, without the cost of a priority queue over every message."""
    chunks = sorted(summary.chunk_indexes, key=lambda c: c.chunk_start_offset)
    return all(b.message_start_time >= a.message_end_time for a, b in itertools.pairwise(chunks))


def _chunk_by_chunk(
    stream: IO[bytes], summary: Summary
) -> Iterator[tuple[Schema | None, Channel, Message]]:
    """Messages of one chunk at a time (sorted by time within it), so memory holds one chunk."""
    for index in sorted(summary.chunk_indexes, key=lambda c: c.chunk_start_offset):
        stream.seek(index.chunk_start_offset + 1 + 8)
        chunk = Chunk.read(ReadDataStream(stream))
        messages = [r for r in breakup_chunk(chunk, validate_crc=True) if isinstance(r, Message)]
        messages.sort(key=lambda m: m.log_time)
        for message in messages:
            channel = summary.channels[message.channel_id]
            yield summary.schemas.get(channel.schema_id), channel, message


def _indexes_usable(summary: Summary) -> bool:
    """True when the summary has chunk indexes and declares every channel they point to."""
    return bool(summary.chunk_indexes) and all(
        channel_id in summary.channels
        for index in summary.chunk_indexes
        for channel_id in index.message_index_offsets
    )


def _guarded(path: Path, stream: IO[bytes], items: Iterable[T]) -> Iterator[T]:
    try:
        yield from items
    except MCAP_ERRORS as exc:
        raise diagnose_mcap(path, exc) from exc


def diagnose_mcap(path: Path, exc: BaseException) -> LogFormatError:
    """Explain why an MCAP cannot be read: scan it once and say where readable data stops.

    Only called on the error path, so the extra pass costs nothing on good files.
    """
    readable, messages, complete = scan_readable(path)
    size = path.stat().st_size
    reason = f"{type(exc).__name__}: {exc}".rstrip(": ")
    if complete:
        return LogFormatError(
            str(path),
            f"corrupt MCAP index or summary ({reason}) although "
            f"all {messages} messages read in order; rerun with --salvage "
            "to ingest a re-indexed copy",
        )
    return LogFormatError(
        str(path),
        f"truncated or corrupt MCAP ({reason}); records are readable up to byte {readable} of "
        f"{size} ({messages} messages); rerun with --salvage to ingest what is readable",
        readable,
    )


def scan_readable(path: Path) -> tuple[int, int, bool]:
    """Where readable MCAP records stop (byte offset), how many messages come before that, and
    whether the whole file read cleanly to its closing magic."""
    readable, messages = 0, 0
    with open(path, "rb") as stream:
        try:
            for record in StreamReader(stream, validate_crcs=True).records:
                readable = stream.tell()
                messages += isinstance(record, Message)
        except MCAP_ERRORS:
            return readable, messages, False
    return stream.tell() if not stream.closed else readable, messages, True
