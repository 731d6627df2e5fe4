"""Read any robot log through one interface: MCAP files, ROS 2 bags and ROS 1 bags.

Every reader yields :class:`LogMessage` (topic, schema name, encoding, log time, raw bytes, and a
``decoded`` view built on demand) in log-time order, and describes the log up front in a
:class:`LogSummary`. Readers are chosen by detection (magic bytes, suffix, directory contents)
from :data:`READERS`; an unknown file fails with a :class:`LogFormatError` that lists what is
supported.

Formats are read by the libraries that own them: ``mcap`` (with the ROS 2, protobuf, JSON and
ROS 1 decoders) for MCAP, ``rosbags`` for sqlite3 ROS 2 bags and ROS 1 bags. A ROS 2 bag whose
storage is MCAP is read with the ``mcap`` reader, file by file, because rosbags' directory
reader can miss its messages. Decoding never stops a read: a channel that cannot be decoded keeps
its raw bytes and says why in its ``note``.

Channels are found by message type, not topic name (:func:`topics_of_type`), since every robot
names its topics differently.
"""

from __future__ import annotations

import contextlib
import heapq
import io
import itertools
import json
import re
import sqlite3
import struct
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar, TypeVar

import yaml
import zstandard
from mcap.data_stream import ReadDataStream
from mcap.decoder import DecoderFactory as McapDecoderFactory
from mcap.exceptions import McapError
from mcap.reader import SeekingReader
from mcap.records import Channel, Chunk, Message, Metadata, Schema
from mcap.stream_reader import StreamReader, breakup_chunk
from mcap.summary import Summary
from mcap_protobuf.decoder import DecoderFactory as ProtobufDecoderFactory
from mcap_ros2.decoder import DecoderFactory as Ros2DecoderFactory
from pydantic import BaseModel, Field
from rosbags.interfaces import Connection, MessageDefinitionFormat
from rosbags.rosbag1 import Reader as Rosbag1Reader
from rosbags.rosbag1 import ReaderError as Rosbag1Error
from rosbags.rosbag2 import Reader as Rosbag2Reader
from rosbags.rosbag2 import ReaderError as Rosbag2Error
from rosbags.serde import SerdeError
from rosbags.typesys import Stores, TypesysError, get_types_from_idl, get_types_from_msg
from rosbags.typesys import get_typestore as _get_typestore
from rosbags.typesys.store import Typestore

from robotops.errors import LogFormatError, NotFoundError

MCAP_MAGIC = b"\x89MCAP0\r\n"
ROS1_MAGIC = b"#ROSBAG V2.0"
SQLITE_MAGIC = b"SQLite format 3\x00"
BAG_METADATA = "metadata.yaml"

# What the mcap readers raise on a truncated or corrupt file (bad CRC, bad compressed data,
# records pointing nowhere); OSError covers seeking before the start of a tiny file.
MCAP_ERRORS = (McapError, ValueError, KeyError, IndexError, EOFError, struct.error, OSError,
               zstandard.ZstdError, RuntimeError)
# What rosbags and the libraries under it raise on a corrupt bag (sqlite, bz2, lz4, zstd).
ROSBAG_ERRORS = (Rosbag1Error, Rosbag2Error, sqlite3.Error, OSError, ValueError, KeyError,
                 IndexError, EOFError, struct.error, RuntimeError, TypesysError, SerdeError)

Decoder = Callable[[bytes], Any]
T = TypeVar("T")


def canonical_type(name: str) -> str:
    """One spelling per message type: ``sensor_msgs/msg/Image``, ``sensor_msgs/Image`` (ROS 1)
    and ``sensor_msgs.msg.Image`` all become ``sensor_msgs/Image``; ``foxglove.RawImage``
    (protobuf) becomes ``foxglove/RawImage``."""
    parts = [p for p in re.split(r"[/.]", name) if p]
    if len(parts) == 3 and parts[1] == "msg":
        parts = [parts[0], parts[2]]
    return "/".join(parts)


def type_matches(schema_name: str, wanted: str) -> bool:
    """Whether ``schema_name`` is the type ``wanted`` (``'Image'`` matches any package)."""
    have, want = canonical_type(schema_name), canonical_type(wanted)
    return have == want or ("/" not in want and have.rsplit("/", 1)[-1] == want)


@dataclass(eq=False)
class ChannelInfo:
    """One topic as a reader sees it; its decoder is built on first use and failures become a
    note instead of an exception, so one odd channel never stops a whole log."""

    topic: str
    schema_name: str
    schema_encoding: str
    encoding: str
    declared_count: int | None = None
    note: str = ""
    build: Callable[[], tuple[Decoder | None, str]] | None = field(default=None, repr=False)
    decode_failures: int = 0
    _decoder: Decoder | None = field(default=None, repr=False)
    _built: bool = field(default=False, repr=False)

    @property
    def type(self) -> str:
        return canonical_type(self.schema_name)

    def decode(self, data: bytes) -> Any | None:
        """The decoded message, or None when this channel cannot be decoded (see ``note``)."""
        if not self._built:
            self._built = True
            self._decoder, why = self.build() if self.build else (None, "no decoder")
            if self._decoder is None and not self.note:
                self.note = f"{why}; kept raw"
        if self._decoder is None:
            return None
        try:
            return self._decoder(data)
        except Exception as exc:  # any decoder failure is data, not a crash
            self.decode_failures += 1
            if not self.note:
                self.note = f"decode failed ({type(exc).__name__}: {exc}); kept raw"
            return None


@dataclass(slots=True)
class LogMessage:
    """One message: where it was logged, when, its raw bytes, and a decoded view on demand."""

    channel: ChannelInfo
    log_time_ns: int
    data: bytes

    @property
    def topic(self) -> str:
        return self.channel.topic

    @property
    def schema_name(self) -> str:
        return self.channel.schema_name

    @property
    def encoding(self) -> str:
        return self.channel.encoding

    @property
    def decoded(self) -> Any | None:
        """Decodes on every access (keep the result); None when the channel cannot decode."""
        return self.channel.decode(self.data)


class TopicSummary(BaseModel):
    name: str
    schema_name: str
    schema_encoding: str = ""
    encoding: str
    message_count: int | None = Field(None, description="as the file declares it; None if not")
    note: str = ""


class LogSummary(BaseModel):
    """What a log declares about itself before any message is read."""

    path: Path
    format: str
    files: list[Path] = Field(description="every file that makes up the log")
    size_bytes: int
    start_ns: int | None = None
    end_ns: int | None = None
    message_count: int | None = Field(None, description="as declared; None when unknown")
    topics: list[TopicSummary] = Field(default_factory=list)
    metadata: dict[str, dict[str, str]] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    indexed: bool = Field(True, description="False when the file has no index to seek with")


def topics_of_type(summary: LogSummary, *types: str) -> list[str]:
    """Topics whose message type is one of ``types`` (e.g. ``'sensor_msgs/msg/Image'``,
    ``'CompressedImage'``): the way to find a robot's camera whatever it named the topic."""
    return sorted({t.name for t in summary.topics
                   if any(type_matches(t.schema_name, want) for want in types)})


class LogReader(ABC):
    """A log opened for reading. Use as a context manager."""

    format: ClassVar[str]
    description: ClassVar[str]
    accepts: ClassVar[str]

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.files: list[Path] = []
        self.metadata: dict[str, dict[str, str]] = {}
        self.notes: list[str] = []
        self._channels: dict[tuple[str, str, str], ChannelInfo] = {}
        self._stack = contextlib.ExitStack()

    @classmethod
    @abstractmethod
    def detect(cls, path: Path) -> int:
        """How sure this reader is that it reads ``path``: 0 no, 1 by name, 2 by content."""

    @abstractmethod
    def summary(self) -> LogSummary:
        """What the log declares (topics, counts, time range, metadata) without reading it all."""

    @abstractmethod
    def messages(self) -> Iterator[LogMessage]:
        """Every message, in log-time order (file order when the file has no index)."""

    @property
    def channels(self) -> list[ChannelInfo]:
        return list(self._channels.values())

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> LogReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _channel(self, topic: str, schema_name: str, encoding: str, **kwargs: Any) -> ChannelInfo:
        key = (topic, schema_name, encoding)
        channel = self._channels.get(key)
        if channel is None:
            channel = self._channels[key] = ChannelInfo(topic, schema_name, encoding=encoding,
                                                        **kwargs)
        return channel

    def _summary(self, **kwargs: Any) -> LogSummary:
        topics = [TopicSummary(name=c.topic, schema_name=c.schema_name,
                               schema_encoding=c.schema_encoding, encoding=c.encoding,
                               message_count=c.declared_count, note=c.note)
                  for c in sorted(self._channels.values(), key=lambda c: c.topic)]
        return LogSummary(path=self.path, format=self.format, files=self.files,
                          size_bytes=sum(f.stat().st_size for f in self.files), topics=topics,
                          metadata=self.metadata, notes=self.notes, **kwargs)

    def _error(self, exc: BaseException, offset: int | None = None,
               path: Path | None = None) -> LogFormatError:
        reason = str(exc) or type(exc).__name__
        return LogFormatError(str(path or self.path),
                              f"not a readable {self.description} ({reason})", offset)


# --------------------------------------------------------------------------- MCAP decoders


def _rosbags_decoder(types: dict[str, Any], typename: str, ros1: bool) -> Decoder:
    """Decode ``typename`` with rosbags, from ``types`` plus the standard types they refer to."""
    store = _typestore(types, Stores.ROS1_NOETIC if ros1 else Stores.LATEST)
    if ros1:
        return lambda data: store.deserialize_ros1(data, typename)
    return lambda data: store.deserialize_cdr(data, typename)


def _typestore(types: dict[str, Any], default: Stores) -> Typestore:
    store = _get_typestore(Stores.EMPTY)
    store.register(types)
    base = _get_typestore(default)
    store.register({k: v for k, v in base.fielddefs.items() if k not in store.fielddefs})
    return store


def _msg_name(name: str) -> str:
    """rosbags wants ``pkg/msg/Type``."""
    parts = canonical_type(name).split("/")
    return f"{parts[0]}/msg/{parts[-1]}" if len(parts) >= 2 else name


class QuietRos2DecoderFactory(McapDecoderFactory):
    """ROS 2 CDR: ``ros2msg`` schemas through mcap_ros2, ``ros2idl`` and service events (whose
    recorded schema is the ``.srv`` text, request ``---`` response) through rosbags."""

    def __init__(self) -> None:
        self._inner = Ros2DecoderFactory()

    def decoder_for(self, message_encoding: str, schema: Schema | None) -> Decoder | None:
        if message_encoding != "cdr" or schema is None:
            return None
        text = schema.data.decode()
        if schema.encoding == "ros2idl":
            return _rosbags_decoder(_idl_types(text), _msg_name(schema.name), ros1=False)
        if schema.encoding != "ros2msg":
            return None
        if "/srv/" in schema.name and schema.name.endswith("_Event") and "\n---\n" in text:
            return _service_event_decoder(schema.name, text)
        with contextlib.redirect_stderr(io.StringIO()):  # mcap_ros2 prints parse errors
            return self._inner.decoder_for(message_encoding, schema)


def _idl_types(text: str) -> dict[str, Any]:
    sep = "=" * 80 + "\n"
    types: dict[str, Any] = {}
    for part in text.split(sep)[1:] if text.startswith(f"{sep}IDL: ") else [text]:
        types.update(get_types_from_idl(part.split("\n", 1)[1] if part.startswith("IDL: ")
                                        else part))
    return types


def _service_event_decoder(name: str, text: str) -> Decoder:
    """Rebuild ``pkg/srv/X_Event`` (info, request[<=1], response[<=1]) from the .srv text."""
    request, response = text.split("\n---\n", 1)
    pkg, base = canonical_type(name).split("/")[0], name.rsplit("/", 1)[-1][: -len("_Event")]
    types: dict[str, Any] = {}
    types.update(get_types_from_msg(request, f"{pkg}/msg/{base}_Request"))
    types.update(get_types_from_msg(response, f"{pkg}/msg/{base}_Response"))
    event = (f"service_msgs/msg/ServiceEventInfo info\n{pkg}/msg/{base}_Request[<=1] request\n"
             f"{pkg}/msg/{base}_Response[<=1] response")
    types.update(get_types_from_msg(event, f"{pkg}/msg/{base}_Event"))
    return _rosbags_decoder(types, f"{pkg}/msg/{base}_Event", ros1=False)


class JsonDecoderFactory(McapDecoderFactory):
    """JSON messages, with or without a JSON schema."""

    def decoder_for(self, message_encoding: str, schema: Schema | None) -> Decoder | None:
        return json.loads if message_encoding == "json" else None


class Ros1DecoderFactory(McapDecoderFactory):
    """ROS 1 messages stored in MCAP (``ros1`` encoding, ``ros1msg`` schemas)."""

    def decoder_for(self, message_encoding: str, schema: Schema | None) -> Decoder | None:
        if message_encoding != "ros1" or schema is None or schema.encoding != "ros1msg":
            return None
        typename = _msg_name(schema.name)
        return _rosbags_decoder(get_types_from_msg(schema.data.decode(), typename), typename,
                                ros1=True)


# Tried in order for each MCAP channel; the first that returns a decoder wins.
MCAP_DECODER_FACTORIES: tuple[Callable[[], McapDecoderFactory], ...] = (
    QuietRos2DecoderFactory, ProtobufDecoderFactory, JsonDecoderFactory, Ros1DecoderFactory,
)
KNOWN_MESSAGE_ENCODINGS = ("cdr", "protobuf", "json", "ros1")


# ----------------------------------------------------------------------------- MCAP reader


class McapLogReader(LogReader):
    """An MCAP file, or a ROS 2 bag directory whose storage is MCAP (split files merged)."""

    format = "mcap"
    description = "MCAP file"
    accepts = "an MCAP file (.mcap), or a ROS 2 bag directory with MCAP storage"

    @classmethod
    def detect(cls, path: Path) -> int:
        if path.is_dir():
            return 1 if _bag_storage(path) == "mcap" else 0
        if _starts_with(path, MCAP_MAGIC):
            return 2
        return 1 if path.suffix == ".mcap" else 0

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._files: list[tuple[Path, IO[bytes], SeekingReader, Summary | None]] = []
        self._factories: list[list[McapDecoderFactory]] = []
        self._declared_total: int | None = None
        self._span: tuple[int, int] | None = None
        try:
            data_files = _bag_files(self.path, ".mcap", self.notes) if self.path.is_dir() else [
                self.path]
            self.files = [*data_files, *_bag_yaml_path(self.path)]
            for data_file in data_files:
                self._open_file(data_file)
            _apply_bag_counts(self.path, self._channels, self.notes)
        except BaseException:
            self.close()
            raise

    def _open_file(self, path: Path) -> None:
        stream = self._stack.enter_context(open(path, "rb"))  # noqa: SIM115 - exit stack
        head = stream.read(len(MCAP_MAGIC))
        if head != MCAP_MAGIC:
            raise LogFormatError(str(path), f"not an MCAP file: it starts with {head[:8]!r}, "
                                 f"not the MCAP magic {MCAP_MAGIC!r}", 0)
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
        info = self._channel(channel.topic, name, channel.message_encoding,
                             schema_encoding=schema.encoding if schema is not None else "")
        if info.build is None:
            factories = self._factories[index]
            info.build = lambda: _mcap_decoder(factories, channel.message_encoding, schema)
        return info

    def summary(self) -> LogSummary:
        indexed = all(s is not None and _indexes_usable(s) for *_, s in self._files)
        start, end = self._span or (None, None)
        return self._summary(start_ns=start, end_ns=end, message_count=self._declared_total
                             if all(s is not None and s.statistics for *_, s in self._files)
                             else None, indexed=indexed)

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
            yield LogMessage(self._mcap_channel(index, schema, channel), message.log_time,
                             message.data)

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
                channels[record.id] = self._mcap_channel(index, schemas.get(record.schema_id),
                                                          record)
            elif isinstance(record, Metadata):
                self.metadata[record.name] = dict(record.metadata)
            elif isinstance(record, Message):
                info = channels.get(record.channel_id)
                if info is None:
                    raise LogFormatError(str(path), "message on undeclared channel "
                                         f"{record.channel_id}", stream.tell())
                yield LogMessage(info, record.log_time, record.data)


def _mcap_decoder(factories: list[McapDecoderFactory], encoding: str,
                  schema: Schema | None) -> tuple[Decoder | None, str]:
    for factory in factories:
        try:
            decoder = factory.decoder_for(encoding, schema)
        except Exception as exc:  # a schema a decoder library cannot parse is data, not a crash
            name = schema.name if schema is not None else "(no schema)"
            return None, f"cannot parse schema {name!r} ({type(exc).__name__}: {exc})"
        if decoder is not None:
            return decoder, ""
    if encoding not in KNOWN_MESSAGE_ENCODINGS:
        return None, (f"no decoder for message encoding {encoding!r} "
                      f"(known: {', '.join(KNOWN_MESSAGE_ENCODINGS)})")
    if schema is None:
        return None, f"schemaless {encoding!r} channel"
    return None, f"no decoder for {encoding!r} with schema encoding {schema.encoding!r}"


def _chunks_in_time_order(summary: Summary) -> bool:
    """True when no chunk starts before the one before it ends: reading chunk by chunk is then
    reading in time order, without the cost of a priority queue over every message."""
    chunks = sorted(summary.chunk_indexes, key=lambda c: c.chunk_start_offset)
    return all(b.message_start_time >= a.message_end_time for a, b in itertools.pairwise(chunks))


def _chunk_by_chunk(stream: IO[bytes], summary: Summary
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
        return LogFormatError(str(path), f"corrupt MCAP index or summary ({reason}) although "
                              f"all {messages} messages read in order; rerun with --salvage "
                              "to ingest a re-indexed copy")
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


# --------------------------------------------------------------------------- rosbags readers


class _RosbagsLogReader(LogReader):
    """Shared machinery of the readers backed by ``rosbags``."""

    ros1: ClassVar[bool]
    default_store: ClassVar[Stores]

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._readers: list[Any] = []
        try:
            self._open()
        except ROSBAG_ERRORS as exc:
            self.close()
            raise self._error(exc) from exc
        except BaseException:
            self.close()
            raise
        self._typestore, problems = _bag_typestore(
            [c for r in self._readers for c in r.connections], self._store())
        for reader in self._readers:
            for conn in reader.connections:
                self._bag_channel(conn, problems)

    @abstractmethod
    def _open(self) -> None:
        """Open the rosbags readers onto ``self._readers`` and fill ``self.files``."""

    def _store(self) -> Stores:
        return self.default_store

    def _bag_channel(self, conn: Connection, problems: dict[str, str]) -> ChannelInfo:
        fmt = conn.msgdef.format
        schema_encoding = {MessageDefinitionFormat.MSG: "ros1msg" if self.ros1 else "ros2msg",
                           MessageDefinitionFormat.IDL: "ros2idl"}.get(fmt, "")
        info = self._channel(conn.topic, conn.msgtype, "ros1" if self.ros1 else "cdr",
                             schema_encoding=schema_encoding)
        if info.build is None:
            info.declared_count = 0
            info.build = lambda: self._decoder(conn.msgtype, problems)
        info.declared_count = (info.declared_count or 0) + conn.msgcount
        return info

    def _decoder(self, msgtype: str, problems: dict[str, str]) -> tuple[Decoder | None, str]:
        if msgtype in problems:
            return None, problems[msgtype]
        if msgtype not in self._typestore.fielddefs:
            return None, (f"no definition of {msgtype} in the bag nor in the standard "
                          f"{self._store().name} types")
        store = self._typestore
        if self.ros1:
            return (lambda data: store.deserialize_ros1(data, msgtype)), ""
        return (lambda data: store.deserialize_cdr(data, msgtype)), ""

    def summary(self) -> LogSummary:
        counts = [r.message_count for r in self._readers]
        with_messages = [r for r in self._readers if r.message_count]
        start = min((r.start_time for r in with_messages), default=None)
        end = max((r.end_time - 1 for r in with_messages), default=None)
        return self._summary(start_ns=start, end_ns=end, message_count=sum(counts))

    def messages(self) -> Iterator[LogMessage]:
        streams = [self._reader_messages(r) for r in self._readers]
        merged = streams[0] if len(streams) == 1 else heapq.merge(
            *streams, key=lambda m: m.log_time_ns)
        try:
            yield from merged
        except ROSBAG_ERRORS as exc:
            raise self._error(exc) from exc

    def _reader_messages(self, reader: Any) -> Iterator[LogMessage]:
        for conn, timestamp, data in reader.messages():
            yield LogMessage(self._channels[(conn.topic, conn.msgtype, self._encoding)],
                             timestamp, bytes(data))

    @property
    def _encoding(self) -> str:
        return "ros1" if self.ros1 else "cdr"

    def _enter(self, reader: Any) -> None:
        self._stack.enter_context(reader)
        self._readers.append(reader)


def _bag_typestore(connections: list[Connection], default: Stores
                   ) -> tuple[Typestore, dict[str, str]]:
    """One typestore for a bag: its own definitions first, then the standard ones it lacks."""
    types: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for conn in connections:
        if conn.msgdef.format == MessageDefinitionFormat.NONE or conn.msgtype in types:
            continue
        try:
            if conn.msgdef.format == MessageDefinitionFormat.IDL:
                parsed = _idl_types(conn.msgdef.data)
            else:
                parsed = get_types_from_msg(conn.msgdef.data, conn.msgtype)
        except (TypesysError, ValueError, KeyError, IndexError) as exc:
            problems[conn.msgtype] = f"cannot parse the bag's definition of {conn.msgtype} ({exc})"
            continue
        for name, definition in parsed.items():
            types.setdefault(name, definition)
    return _typestore(types, default), problems


class Ros2BagReader(_RosbagsLogReader):
    """A ROS 2 sqlite3 bag: a directory with metadata.yaml (split files, per-message or per-file
    zstd), or a bare ``.db3`` with no metadata.yaml (definitions from the standard types)."""

    format = "ros2"
    description = "ROS 2 sqlite3 bag"
    accepts = "a ROS 2 sqlite3 bag (a directory with metadata.yaml, or a .db3 file)"
    ros1 = False
    default_store = Stores.ROS2_HUMBLE

    @classmethod
    def detect(cls, path: Path) -> int:
        if path.is_dir():
            return 1 if _bag_storage(path) == "sqlite3" else 0
        if path.suffix == ".db3":
            return 2 if _starts_with(path, SQLITE_MAGIC) else 1
        return 0

    def _open(self) -> None:
        if self.path.is_dir():
            self.files = [*_bag_files(self.path, ".db3", self.notes), self.path / BAG_METADATA]
            self._enter(Rosbag2Reader(self.path))
            distro = self._readers[0].ros_distro
            if distro:
                self.metadata["rosbag2"] = {"ros_distro": str(distro)}
            return
        self.files = [self.path]
        if not _starts_with(self.path, SQLITE_MAGIC):
            raise LogFormatError(str(self.path), "not a SQLite database (no 'SQLite format 3' "
                                 "header), so not a ROS 2 .db3 bag", 0)
        self._enter(Rosbag2Reader(self.path))

    def _store(self) -> Stores:
        distro = self.metadata.get("rosbag2", {}).get("ros_distro", "")
        return getattr(Stores, f"ROS2_{distro.upper()}", self.default_store)


class Ros1BagReader(_RosbagsLogReader):
    """A ROS 1 bag (v2.0; uncompressed, bz2 or lz4 chunks)."""

    format = "ros1"
    description = "ROS 1 bag"
    accepts = "a ROS 1 bag (.bag)"
    ros1 = True
    default_store = Stores.ROS1_NOETIC

    @classmethod
    def detect(cls, path: Path) -> int:
        if path.is_dir():
            return 0
        if _starts_with(path, ROS1_MAGIC):
            return 2
        return 1 if path.suffix == ".bag" else 0

    def _open(self) -> None:
        self.files = [self.path]
        if not _starts_with(self.path, ROS1_MAGIC):
            raise LogFormatError(str(self.path), f"not a ROS 1 bag: it does not start with "
                                 f"{ROS1_MAGIC.decode()!r}", 0)
        self._enter(Rosbag1Reader(self.path))


# ---------------------------------------------------------------------- registry, detection

READERS: dict[str, type[LogReader]] = {
    "mcap": McapLogReader,
    "ros2": Ros2BagReader,
    "ros1": Ros1BagReader,
}


def supported_formats() -> str:
    return "; ".join(reader.accepts for reader in READERS.values())


def detect_format(path: Path) -> str:
    """The :data:`READERS` key that reads ``path``.

    Raises:
        NotFoundError: ``path`` does not exist.
        LogFormatError: ``path`` is empty or in no format robotops reads.
    """
    path = Path(path)
    if not path.exists():
        raise NotFoundError("log", str(path))
    if path.is_file() and path.stat().st_size == 0:
        raise LogFormatError(str(path), "empty file (0 bytes): there is no log in it", 0)
    scores = {name: reader.detect(path) for name, reader in READERS.items()}
    best = max(scores, key=lambda name: scores[name])
    if scores[best] == 0:
        what = "directory" if path.is_dir() else "file"
        raise LogFormatError(str(path), f"unrecognized log {what}; robotops reads "
                             f"{supported_formats()}")
    return best


def open_log(path: Path) -> LogReader:
    """Open ``path`` with the reader that detects it (see :func:`detect_format`)."""
    return READERS[detect_format(Path(path))](Path(path))


def read_summary(path: Path) -> LogSummary:
    """The summary of a log without reading its messages."""
    with open_log(path) as reader:
        return reader.summary()


# ----------------------------------------------------------------------------- bag helpers


def _starts_with(path: Path, magic: bytes) -> bool:
    try:
        with open(path, "rb") as stream:
            return stream.read(len(magic)) == magic
    except OSError:
        return False


def _bag_yaml(path: Path) -> dict[str, Any] | None:
    meta = path / BAG_METADATA
    if not meta.is_file():
        return None
    try:
        loaded = yaml.safe_load(meta.read_text())
        return loaded["rosbag2_bagfile_information"]
    except (yaml.YAMLError, OSError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise LogFormatError(str(meta), f"unreadable ROS 2 bag metadata ({exc})") from exc


def _bag_yaml_path(path: Path) -> list[Path]:
    meta = path / BAG_METADATA
    return [meta] if path.is_dir() and meta.is_file() else []


def _bag_storage(path: Path) -> str | None:
    try:
        info = _bag_yaml(path)
    except LogFormatError:
        return None
    return None if info is None else str(info.get("storage_identifier", ""))


def _bag_files(path: Path, suffix: str, notes: list[str]) -> list[Path]:
    """The data files of a bag directory: those metadata.yaml lists (by name, as rosbag2 does
    when a bag has been moved), else every ``*suffix`` file in it."""
    info = _bag_yaml(path)
    if info is None:
        return sorted(path.glob(f"*{suffix}"))
    listed = [path / Path(p).name for p in info.get("relative_file_paths") or []]
    missing = [p.name for p in listed if not p.is_file()]
    if missing:
        raise LogFormatError(str(path / BAG_METADATA), f"lists files that are missing: "
                             f"{', '.join(missing)}")
    if not listed:
        notes.append("metadata.yaml lists no files; reading every file in the directory")
        return sorted(path.glob(f"*{suffix}"))
    return listed


def _apply_bag_counts(path: Path, channels: dict[tuple[str, str, str], ChannelInfo],
                      notes: list[str]) -> None:
    """Compare what metadata.yaml declares per topic with what the data files declare."""
    if not path.is_dir():
        return
    info = _bag_yaml(path)
    if not info:
        return
    for entry in info.get("topics_with_message_count") or []:
        meta, count = entry.get("topic_metadata", {}), entry.get("message_count")
        for channel in channels.values():
            if channel.topic == meta.get("name") and channel.declared_count not in (None, count):
                notes.append(f"{channel.topic}: metadata.yaml declares {count} messages, the "
                             f"data files {channel.declared_count}")
