"""ROS 2 sqlite3 bags and ROS 1 bags, read with ``rosbags``."""

from __future__ import annotations

import heapq
import sqlite3
import struct
from abc import abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from rosbags.interfaces import Connection, MessageDefinitionFormat
from rosbags.rosbag1 import Reader as Rosbag1Reader
from rosbags.rosbag1 import ReaderError as Rosbag1Error
from rosbags.rosbag2 import Reader as Rosbag2Reader
from rosbags.rosbag2 import ReaderError as Rosbag2Error
from rosbags.serde import SerdeError
from rosbags.typesys import Stores, TypesysError, get_types_from_msg
from rosbags.typesys.store import Typestore

from robotops.errors import LogFormatError
from robotops.sim.logs.readers.bagdir import BAG_METADATA, bag_files, bag_storage
from robotops.sim.logs.readers.base import (
    ChannelInfo,
    Decoder,
    LogMessage,
    LogReader,
    LogSummary,
    starts_with,
)
from robotops.sim.logs.readers.decoders import idl_types, typestore

ROS1_MAGIC = b"#ROSBAG V2.0"
SQLITE_MAGIC = b"SQLite format 3\x00"

# What rosbags and the libraries under it raise on a corrupt bag (sqlite, bz2, lz4, zstd).
ROSBAG_ERRORS = (
    Rosbag1Error,
    Rosbag2Error,
    sqlite3.Error,
    OSError,
    ValueError,
    KeyError,
    IndexError,
    EOFError,
    struct.error,
    RuntimeError,
    TypesysError,
    SerdeError,
)


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
            [c for r in self._readers for c in r.connections], self._store()
        )
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
        schema_encoding = {
            MessageDefinitionFormat.MSG: "ros1msg" if self.ros1 else "ros2msg",
            MessageDefinitionFormat.IDL: "ros2idl",
        }.get(fmt, "")
        info = self._channel(
            conn.topic,
            conn.msgtype,
            "ros1" if self.ros1 else "cdr",
            schema_encoding=schema_encoding,
        )
        if info.build is None:
            info.declared_count = 0
            info.build = lambda: self._decoder(conn.msgtype, problems)
        info.declared_count = (info.declared_count or 0) + conn.msgcount
        return info

    def _decoder(self, msgtype: str, problems: dict[str, str]) -> tuple[Decoder | None, str]:
        if msgtype in problems:
            return None, problems[msgtype]
        if msgtype not in self._typestore.fielddefs:
            return None, (
                f"no definition of {msgtype} in the bag nor in the standard "
                f"{self._store().name} types"
            )
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
        merged = (
            streams[0] if len(streams) == 1 else heapq.merge(*streams, key=lambda m: m.log_time_ns)
        )
        try:
            yield from merged
        except ROSBAG_ERRORS as exc:
            raise self._error(exc) from exc

    def _reader_messages(self, reader: Any) -> Iterator[LogMessage]:
        for conn, timestamp, data in reader.messages():
            yield LogMessage(
                self._channels[(conn.topic, conn.msgtype, self._encoding)], timestamp, bytes(data)
            )

    @property
    def _encoding(self) -> str:
        return "ros1" if self.ros1 else "cdr"

    def _enter(self, reader: Any) -> None:
        self._stack.enter_context(reader)
        self._readers.append(reader)


def _bag_typestore(
    connections: list[Connection], default: Stores
) -> tuple[Typestore, dict[str, str]]:
    """One typestore for a bag: its own definitions first, then the standard ones it lacks."""
    types: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for conn in connections:
        if conn.msgdef.format == MessageDefinitionFormat.NONE or conn.msgtype in types:
            continue
        try:
            if conn.msgdef.format == MessageDefinitionFormat.IDL:
                parsed = idl_types(conn.msgdef.data)
            else:
                parsed = get_types_from_msg(conn.msgdef.data, conn.msgtype)
        except (TypesysError, ValueError, KeyError, IndexError) as exc:
            problems[conn.msgtype] = f"cannot parse the bag's definition of {conn.msgtype} ({exc})"
            continue
        for name, definition in parsed.items():
            types.setdefault(name, definition)
    return typestore(types, default), problems


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
            return 1 if bag_storage(path) == "sqlite3" else 0
        if path.suffix == ".db3":
            return 2 if starts_with(path, SQLITE_MAGIC) else 1
        return 0

    def _open(self) -> None:
        if self.path.is_dir():
            self.files = [*bag_files(self.path, ".db3", self.notes), self.path / BAG_METADATA]
            self._enter(Rosbag2Reader(self.path))
            distro = self._readers[0].ros_distro
            if distro:
                self.metadata["rosbag2"] = {"ros_distro": str(distro)}
            return
        self.files = [self.path]
        if not starts_with(self.path, SQLITE_MAGIC):
            raise LogFormatError(
                str(self.path),
                "not a SQLite database (no 'SQLite format 3' header), so not a ROS 2 .db3 bag",
                0,
            )
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
        if starts_with(path, ROS1_MAGIC):
            return 2
        return 1 if path.suffix == ".bag" else 0

    def _open(self) -> None:
        self.files = [self.path]
        if not starts_with(self.path, ROS1_MAGIC):
            raise LogFormatError(
                str(self.path),
                f"not a ROS 1 bag: it does not start with {ROS1_MAGIC.decode()!r}",
                0,
            )
        self._enter(Rosbag1Reader(self.path))
