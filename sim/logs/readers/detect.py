"""The reader registry and format detection: pick the reader that is surest it reads a path."""

from __future__ import annotations

from pathlib import Path

from robotops.errors import LogFormatError, NotFoundError
from robotops.sim.logs.readers.base import LogReader, LogSummary
from robotops.sim.logs.readers.mcap_reader import McapLogReader
from robotops.sim.logs.readers.rosbag_readers import Ros1BagReader, Ros2BagReader

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
        raise LogFormatError(
            str(path), f"unrecognized log {what}; robotops reads {supported_formats()}"
        )
    return best


def open_log(path: Path) -> LogReader:
    """Open ``path`` with the reader that detects it (see :func:`detect_format`)."""
    return READERS[detect_format(Path(path))](Path(path))


def read_summary(path: Path) -> LogSummary:
    """The summary of a log without reading its messages."""
    with open_log(path) as reader:
        return reader.summary()
