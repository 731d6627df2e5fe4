"""Camera frames of a log's segments: a few evenly spaced frames per segment and camera.

One streaming pass over the log; cameras are found by message type (``CompressedImage``,
``Image``, foxglove's image types), never by topic name, and only the picked frames are
decoded. A frame that does not decode becomes a note on its segment instead of an exception.
"""

from __future__ import annotations

import bisect
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from robotops.sim.logs.readers import LogMessage, open_log
from robotops.sim.logs.readers.message_types import RAW_IMAGE_LAYOUT
from robotops.tools.labeling.registry import FrameError

COMPRESSED_TYPES = ("sensor_msgs/CompressedImage", "foxglove/CompressedImage")
RAW_TYPES = ("sensor_msgs/Image", "foxglove/RawImage")
IMAGE_TYPES = COMPRESSED_TYPES + RAW_TYPES
MAX_SIDE = 640  # frames are decoded at most this large: labels need no more
_RAW = RAW_IMAGE_LAYOUT


@dataclass(frozen=True)
class Window:
    """A segment to sample frames from."""

    segment_id: str
    start_ns: int
    end_ns: int


@dataclass
class SegmentFrames:
    """The frames picked for one segment (time, camera topic, RGB) and the ones that failed."""

    frames: list[tuple[int, str, np.ndarray]] = field(default_factory=list)
    problems: list[tuple[str, int, str]] = field(default_factory=list)  # topic, time, why


def _field(msg: Any, name: str, default: Any = None) -> Any:
    value = msg.get(name) if isinstance(msg, dict) else getattr(msg, name, None)
    return default if value is None else value


def decode_compressed(msg: Any) -> np.ndarray:
    """A JPEG/PNG/... frame as RGB, decoded at reduced scale when it is large."""
    data = _field(msg, "data")
    if data is None or len(data) == 0:
        raise FrameError("compressed image has no data")
    try:
        with Image.open(io.BytesIO(bytes(data))) as source:
            source.draft("RGB", (MAX_SIDE, MAX_SIDE))
            image = source.convert("RGB")
            if max(image.size) > MAX_SIDE:
                image.thumbnail((MAX_SIDE, MAX_SIDE))
            return np.asarray(image)
    except UnidentifiedImageError as exc:
        fmt = _field(msg, "format", "") or "compressed"
        raise FrameError(f"undecodable {fmt} image (not an image format PIL knows)") from exc
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        fmt = _field(msg, "format", "") or "compressed"
        raise FrameError(f"undecodable {fmt} image ({exc})") from exc


def decode_raw(msg: Any) -> np.ndarray:
    """A ``sensor_msgs/Image`` with a colour or mono encoding as RGB, subsampled if large."""
    encoding = str(_field(msg, "encoding", ""))
    layout = _RAW.get(encoding)
    if layout is None:
        raise FrameError(f"image encoding {encoding or '(none)'!r} is not a camera image")
    channels, kind = layout
    height, width = int(_field(msg, "height", 0)), int(_field(msg, "width", 0))
    dtype = np.dtype(kind).newbyteorder(">" if _field(msg, "is_bigendian", 0) else "<")
    step = int(_field(msg, "step", 0)) or width * channels * dtype.itemsize
    data = np.frombuffer(bytes(_field(msg, "data", b"")), dtype=np.uint8)
    if height <= 0 or width <= 0 or data.size < height * step:
        raise FrameError(
            f"{encoding} image {width}x{height} has {data.size} bytes, needs {height * step}"
        )
    stride = max(1, -(-max(height, width) // MAX_SIDE))
    rows = data[: height * step].reshape(height, step)[::stride]
    pixels = rows[:, : width * channels * dtype.itemsize].copy().view(dtype)
    pixels = pixels.reshape(len(rows), width, channels)[:, ::stride]
    if dtype.itemsize == 2:
        pixels = (pixels // 257).astype(np.uint8)
    if channels == 1:
        return np.repeat(pixels.astype(np.uint8), 3, axis=2)
    rgb = pixels[..., :3]
    return np.ascontiguousarray(rgb[..., ::-1] if encoding.startswith("bgr") else rgb)


def decode_frame(message: LogMessage) -> np.ndarray:
    """The RGB frame of an image message.

    Raises:
        FrameError: the message does not decode or is not a camera image.
    """
    msg = message.decoded
    if msg is None:
        note = message.channel.note or "no decoder for this channel"
        raise FrameError(f"message does not decode ({note})")
    return decode_compressed(msg) if message.channel.type in COMPRESSED_TYPES else decode_raw(msg)


class _Picker:
    """Per segment and camera: the first frame at or after each of ``n`` evenly spaced times,
    and the first frame of all as a fallback for a segment with frames only before them."""

    def __init__(self, window: Window, n: int) -> None:
        span = window.end_ns - window.start_ns
        self.targets = [window.start_ns + (k + 0.5) * span / n for k in range(n)]
        self.next: dict[str, int] = {}
        self.first: dict[str, LogMessage] = {}
        self.picked: list[LogMessage] = []

    def offer(self, message: LogMessage) -> None:
        topic, t = message.topic, message.log_time_ns
        self.first.setdefault(topic, message)
        k = self.next.get(topic, 0)
        if k < len(self.targets) and t >= self.targets[k]:
            self.picked.append(message)
            while k < len(self.targets) and self.targets[k] <= t:
                k += 1
            self.next[topic] = k

    def messages(self) -> list[LogMessage]:
        have = {m.topic for m in self.picked}
        return self.picked + [m for topic, m in self.first.items() if topic not in have]


def sample_frames(
    path: Path, windows: list[Window], per_segment: int
) -> Iterator[tuple[Window, SegmentFrames]]:
    """Up to ``per_segment`` frames per camera for each window of the log at ``path``, each
    window yielded as soon as the log has moved past it, so memory stays flat.

    Raises:
        LogFormatError: the log cannot be opened or read.
    """
    ordered = sorted(windows, key=lambda w: w.start_ns)
    starts = [w.start_ns for w in ordered]
    pickers = {i: _Picker(w, per_segment) for i, w in enumerate(ordered)}
    done = 0
    with open_log(path) as reader:
        for message in reader.messages():
            t = message.log_time_ns
            while done < len(ordered) and ordered[done].end_ns <= t:
                yield ordered[done], _decode(pickers.pop(done))
                done += 1
            if message.channel.type not in IMAGE_TYPES:
                continue
            i = bisect.bisect_right(starts, t) - 1
            if i >= done and t < ordered[i].end_ns:
                pickers[i].offer(message)
        for i in range(done, len(ordered)):
            yield ordered[i], _decode(pickers.pop(i))


def _decode(picker: _Picker) -> SegmentFrames:
    result = SegmentFrames()
    for message in picker.messages():
        try:
            result.frames.append((message.log_time_ns, message.topic, decode_frame(message)))
        except FrameError as exc:
            result.problems.append((message.topic, message.log_time_ns, str(exc)))
    return result
