"""What every log reader yields and declares: messages, channels, summaries, and the
:class:`LogReader` interface the format readers implement."""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from robotops.errors import LogFormatError
from robotops.sim.logs.readers.message_types import canonical_type

Decoder = Callable[[bytes], Any]


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
            channel = self._channels[key] = ChannelInfo(
                topic, schema_name, encoding=encoding, **kwargs
            )
        return channel

    def _summary(self, **kwargs: Any) -> LogSummary:
        topics = [
            TopicSummary(
                name=c.topic,
                schema_name=c.schema_name,
                schema_encoding=c.schema_encoding,
                encoding=c.encoding,
                message_count=c.declared_count,
                note=c.note,
            )
            for c in sorted(self._channels.values(), key=lambda c: c.topic)
        ]
        return LogSummary(
            path=self.path,
            format=self.format,
            files=self.files,
            size_bytes=sum(f.stat().st_size for f in self.files),
            topics=topics,
            metadata=self.metadata,
            notes=self.notes,
            **kwargs,
        )

    def _error(
        self, exc: BaseException, offset: int | None = None, path: Path | None = None
    ) -> LogFormatError:
        reason = str(exc) or type(exc).__name__
        return LogFormatError(
            str(path or self.path), f"not a readable {self.description} ({reason})", offset
        )


def starts_with(path: Path, magic: bytes) -> bool:
    """Whether ``path`` begins with ``magic`` (False when it cannot be read)."""
    try:
        with open(path, "rb") as stream:
            return stream.read(len(magic)) == magic
    except OSError:
        return False
