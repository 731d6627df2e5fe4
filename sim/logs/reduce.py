"""Reduced-fidelity copies of a log window: the context that rides along with incident windows.

Telemetry is decimated (the first message of each channel in every ``1 / telemetry_hz`` slot of
log time), camera frames become small JPEG thumbnails (one per ``1 / thumbnail_hz`` slot) and event
channels are kept whole. The result is a valid MCAP with the source's schemas, channels and
metadata, plus a ``robotops.reduce`` metadata record saying how it was thinned. Channels are
recognised by schema name, never by topic, so logs that no one here wrote thin the same way.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
from mcap.exceptions import McapError
from mcap.reader import SeekingReader
from mcap.records import Channel, Message, Schema
from mcap.writer import CompressionType, Writer
from mcap_protobuf.decoder import DecoderFactory as ProtobufDecoderFactory
from mcap_ros2._dynamic import generate_dynamic, serialize_dynamic
from PIL import Image, UnidentifiedImageError

from robotops.errors import LogFormatError
from robotops.memory.blobs import hash_file
from robotops.sim.fleet.models import ContextFidelity
from robotops.sim.logs.readers.mcap_reader import MCAP_ERRORS
from robotops.sim.logs.window import WindowResult, check_window_request

Role = Literal["event", "image", "telemetry"]
EVENT_SCHEMAS = frozenset({"robotops_msgs/msg/Event", "robotops_msgs/Event"})
_COMPRESSED_IMAGES = ("CompressedImage",)  # sensor_msgs/msg/CompressedImage, foxglove.*
_RAW_IMAGES = frozenset({"sensor_msgs/msg/Image", "sensor_msgs/Image"})
_RAW_LAYOUTS = {
    "rgb8": ("RGB", 3),
    "bgr8": ("RGB", 3),
    "rgba8": ("RGBA", 4),
    "bgra8": ("RGBA", 4),
    "mono8": ("L", 1),
    "8UC1": ("L", 1),
    "8UC3": ("RGB", 3),
}


def channel_role(schema: Schema | None) -> Role:
    """How a channel is thinned, from its schema name: events, images, or telemetry."""
    name = schema.name if schema is not None else ""
    if name in EVENT_SCHEMAS:
        return "event"
    if name in _RAW_IMAGES or name.endswith(_COMPRESSED_IMAGES):
        return "image"
    return "telemetry"


def slot(time_ns: int, hz: float) -> int:
    """The decimation slot a log time falls in: ``time // period``, aligned to the epoch."""
    return time_ns // max(int(round(1e9 / hz)), 1)


class Thumbnailer:
    """Turns one image channel's messages into thumbnail messages of the same schema.

    Supports ``CompressedImage`` in ros2 CDR, protobuf and JSON (base64 ``data``), and raw ROS 2
    ``Image`` in 8-bit encodings. ``thumbnail`` returns None for a frame it cannot decode.
    """

    def __init__(self, schema: Schema, channel: Channel, fidelity: ContextFidelity) -> None:
        self.fidelity = fidelity
        self.raw = schema.name in _RAW_IMAGES
        self._decode, self._encode = _codec(schema, channel)

    @classmethod
    def for_channel(
        cls, schema: Schema | None, channel: Channel, fidelity: ContextFidelity
    ) -> Thumbnailer | None:
        """A thumbnailer for an image channel, or None when its encoding is not supported."""
        if schema is None or channel_role(schema) != "image":
            return None
        try:
            return cls(schema, channel, fidelity)
        except (McapError, ValueError, KeyError, TypeError, LookupError):
            return None

    def thumbnail(self, data: bytes) -> bytes | None:
        """The message ``data`` with its image shrunk to a thumbnail; None if undecodable."""
        try:
            message = self._decode(data)
            image = _raw_to_image(message) if self.raw else _compressed_to_image(message)
            if image is None:
                return None
            image.thumbnail((self.fidelity.thumbnail_px, self.fidelity.thumbnail_px))
            if self.raw:
                _image_to_raw(message, image)
            else:
                buffer = io.BytesIO()
                image.save(buffer, format="JPEG", quality=self.fidelity.thumbnail_quality)
                _set(message, "format", "jpeg")
                _set(message, "data", buffer.getvalue())
            return self._encode(message)
        except (*MCAP_ERRORS, TypeError, UnidentifiedImageError, Image.DecompressionBombError):
            return None  # a frame that does not decode is left out, never sent full size


def reduce_window(
    src: Path,
    dst: Path,
    start_ns: int,
    end_ns: int,
    topics: list[str] | None = None,
    fidelity: ContextFidelity | None = None,
) -> WindowResult:
    """Write a thinned copy of ``src`` between ``start_ns`` and ``end_ns`` (inclusive) to ``dst``.

    Use it for the context around incidents: a fraction of the bytes, still a log every MCAP
    tool opens. Frames that cannot be thumbnailed are left out (never sent at full size).
    ``dst`` appears atomically.

    Raises:
        InvalidRequestError: empty window or empty topic list.
        NotFoundError: ``src`` does not exist.
        LogFormatError: ``src`` is not a readable MCAP.
    """
    check_window_request(src, start_ns, end_ns, topics)
    src, dst = Path(src), Path(dst)
    fidelity = fidelity or ContextFidelity()
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(src, "rb") as source, open(tmp, "wb") as out:
            writer = Writer(out, compression=CompressionType.ZSTD)
            counts = _ReducingCopy(source, writer, fidelity).run(src, start_ns, end_ns, topics)
            writer.finish()
            out.flush()
            os.fsync(out.fileno())
        digest, size = hash_file(tmp), tmp.stat().st_size
        os.replace(tmp, dst)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return WindowResult(
        path=dst,
        start_ns=start_ns,
        end_ns=end_ns,
        message_count=sum(counts.values()),
        size_bytes=size,
        topics=sorted(t for t, n in counts.items() if n),
        sha256=digest,
    )


class _ReducingCopy:
    """Copies a window message by message, decimating telemetry and thumbnailing images."""

    def __init__(self, source: Any, writer: Writer, fidelity: ContextFidelity) -> None:
        self.source, self.writer, self.fidelity = source, writer, fidelity
        self.schema_ids: dict[int, int] = {}
        self.channel_ids: dict[int, int] = {}
        self.last_slot: dict[int, int] = {}
        self.thumbnailers: dict[int, Thumbnailer | None] = {}
        self.counts: dict[str, int] = {}
        self.skipped = 0

    def run(self, src: Path, start_ns: int, end_ns: int, topics: list[str] | None):
        """Copy the window (through the index; a file without one is read linearly)."""
        try:
            reader = SeekingReader(self.source)
            header = reader.get_header()
            self.writer.start(profile=header.profile, library="robotops.reduce")
            for record in reader.iter_metadata():
                self.writer.add_metadata(record.name, dict(record.metadata))
            messages = reader.iter_messages(topics, starting_at=start_ns, ending_at=end_ns)
            for schema, channel, message in messages:
                self._add(schema, channel, message)
        except MCAP_ERRORS as exc:
            offset = None
            with contextlib.suppress(OSError, ValueError):
                offset = self.source.tell()
            reason = str(exc) or type(exc).__name__
            raise LogFormatError(str(src), f"not a readable MCAP file ({reason})", offset) from exc
        f = self.fidelity
        self.writer.add_metadata(
            "robotops.reduce",
            {
                "fidelity": "context",
                "telemetry_hz": f"{f.telemetry_hz:g}",
                "thumbnail_hz": f"{f.thumbnail_hz:g}",
                "thumbnail_px": str(f.thumbnail_px),
                "thumbnail_quality": str(f.thumbnail_quality),
                "start_ns": str(start_ns),
                "end_ns": str(end_ns),
                "source": src.name,
                "frames_skipped": str(self.skipped),
            },
        )
        return self.counts

    def _add(self, schema: Schema | None, channel: Channel, message: Message) -> None:
        role = channel_role(schema)
        data: bytes | None = message.data
        if role != "event":
            hz = self.fidelity.thumbnail_hz if role == "image" else self.fidelity.telemetry_hz
            current = slot(message.log_time, hz)
            if self.last_slot.get(channel.id) == current:
                return
            self.last_slot[channel.id] = current
        if role == "image":
            if channel.id not in self.thumbnailers:
                assert schema is not None
                self.thumbnailers[channel.id] = Thumbnailer.for_channel(
                    schema, channel, self.fidelity
                )
            thumbnailer = self.thumbnailers[channel.id]
            data = thumbnailer.thumbnail(message.data) if thumbnailer else None
            if data is None:
                self.skipped += 1
                return
        out = self._channel(schema, channel, role)
        self.writer.add_message(out, message.log_time, data, message.publish_time, message.sequence)
        self.counts[channel.topic] = self.counts.get(channel.topic, 0) + 1

    def _channel(self, schema: Schema | None, channel: Channel, role: Role) -> int:
        out = self.channel_ids.get(channel.id)
        if out is not None:
            return out
        schema_id = 0
        if schema is not None:
            schema_id = self.schema_ids.get(schema.id, 0) or self.writer.register_schema(
                schema.name, schema.encoding, schema.data
            )
            self.schema_ids[schema.id] = schema_id
        metadata = dict(channel.metadata)
        f = self.fidelity
        if role == "image":
            metadata.update(
                {
                    "robotops.fidelity": "thumbnail",
                    "robotops.thumbnail_px": str(f.thumbnail_px),
                    "robotops.rate_hz": f"{f.thumbnail_hz:g}",
                }
            )
        elif role == "telemetry":
            metadata.update(
                {"robotops.fidelity": "decimated", "robotops.rate_hz": f"{f.telemetry_hz:g}"}
            )
        out = self.writer.register_channel(
            channel.topic, channel.message_encoding, schema_id, metadata
        )
        self.channel_ids[channel.id] = out
        return out


# --- image codecs -------------------------------------------------------------------------

Decode = Callable[[bytes], Any]
Encode = Callable[[Any], bytes]


def _codec(schema: Schema, channel: Channel) -> tuple[Decode, Encode]:
    """Decode and encode functions for one image channel's message encoding."""
    encoding = channel.message_encoding
    if encoding == "cdr" and schema.encoding == "ros2msg":
        text = schema.data.decode()
        decoder = generate_dynamic(schema.name, text)[schema.name]
        encoder = serialize_dynamic(schema.name, text)[schema.name]
        return decoder, encoder
    if encoding == "protobuf":
        decoder = ProtobufDecoderFactory().decoder_for(encoding, schema)
        if decoder is None:
            raise ValueError(f"no protobuf decoder for {schema.name}")
        return decoder, lambda message: message.SerializeToString()
    if encoding == "json":
        return json.loads, lambda message: json.dumps(message).encode()
    raise ValueError(f"unsupported image encoding {encoding!r}")


def _get(message: Any, name: str) -> Any:
    return message[name] if isinstance(message, dict) else getattr(message, name)


def _set(message: Any, name: str, value: Any) -> None:
    if isinstance(message, dict):
        message[name] = base64.b64encode(value).decode() if name == "data" else value
    else:
        setattr(message, name, value)


def _compressed_to_image(message: Any) -> Image.Image | None:
    data = _get(message, "data")
    if isinstance(data, str):  # JSON carries bytes as base64
        data = base64.b64decode(data)
    image = Image.open(io.BytesIO(bytes(data)))
    image.draft("RGB", (256, 256))  # JPEG: let the decoder downscale, much cheaper
    return image.convert("RGB")


def _raw_to_image(message: Any) -> Image.Image | None:
    layout = _RAW_LAYOUTS.get(_get(message, "encoding"))
    if layout is None:
        return None
    mode, channels = layout
    height, width, step = _get(message, "height"), _get(message, "width"), _get(message, "step")
    rows = np.frombuffer(bytes(_get(message, "data")), np.uint8)[: height * step]
    pixels = rows.reshape(height, step)[:, : width * channels].reshape(height, width, channels)
    if _get(message, "encoding").startswith("bgr"):
        pixels = pixels[..., [2, 1, 0, 3][:channels]]
    return Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels, mode)


def _image_to_raw(message: Any, image: Image.Image) -> None:
    """Store ``image`` back into a raw Image message as rgb8/mono8/rgba8."""
    pixels = np.asarray(image)
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    encoding = {1: "mono8", 3: "rgb8", 4: "rgba8"}[channels]
    for name, value in (
        ("height", pixels.shape[0]),
        ("width", pixels.shape[1]),
        ("encoding", encoding),
        ("step", pixels.shape[1] * channels),
        ("data", pixels.tobytes()),
    ):
        _set(message, name, value)
