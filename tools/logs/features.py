"""Cheap features of fixed time segments of a log, computed in one streaming pass.

A segment is a window of ``segment_s`` seconds aligned to multiples of ``segment_s`` since the
epoch, so segments of different robots line up in time. Per segment: message counts, rates and
the longest gap per topic; image brightness, contrast, saturated and dark pixel fractions on a
few frames (the first and the first after the middle), decoded at reduced scale and subsampled
with ``pixel_stride``; a thumbnail per camera; speed (odometry) and commanded speed (twist);
perception outputs; and events (robot events, diagnostic errors, error log lines).

What to extract is chosen by message type through :data:`EXTRACTORS`, never by topic name.
Only the messages an extractor asks for are decoded, and at most ``samples_per_segment`` per
topic for high-rate telemetry, which keeps ingest close to the speed of reading the file.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from robotops.sim.logs.readers import ChannelInfo, LogMessage
from robotops.sim.logs.readers.message_types import DEPTH_ENCODINGS, RAW_IMAGE_LAYOUT

FEATURES_VERSION = "1"
NS = 1_000_000_000
SATURATED, DARK = 250, 10  # grey levels counted as saturated / dark
GLARE_FRAC, SPOT_FRAC = 0.05, 0.001  # saturated fractions worth a word in the description
STOPPED_MPS = 0.05
GAP_FACTOR, GAP_MIN_NS = 5.0, NS  # a gap is this many typical periods, and at least 1 s


@dataclass(frozen=True)
class FeatureConfig:
    """How segments are cut and how much work goes into each."""

    segment_ns: int
    pixel_stride: int = 4
    thumbnail_px: int = 96
    samples_per_segment: int = 5  # decodes per topic and segment for high-rate telemetry
    put_thumbnail: Callable[[bytes], str] | None = None


@dataclass
class EventRecord:
    """Something the robot reported, as the catalog stores it."""

    time_ns: int
    topic: str
    kind: str
    severity: str
    detail: str


@dataclass
class Segment:
    """What one segment has accumulated so far."""

    start_ns: int
    end_ns: int
    counts: Counter[str] = field(default_factory=Counter)
    max_gap_ns: dict[str, int] = field(default_factory=dict)
    gaps_ns: dict[str, int] = field(default_factory=dict)
    frames: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    thumbnails: dict[str, str] = field(default_factory=dict)
    speeds: list[float] = field(default_factory=list)
    cmd_speeds: list[float] = field(default_factory=list)
    perception: list[float] = field(default_factory=list)
    obstacle_frames: int = 0
    events: list[EventRecord] = field(default_factory=list)
    picked: dict[str, set[str]] = field(default_factory=dict)
    last_sample: dict[str, int] = field(default_factory=dict)

    @property
    def thumbnail(self) -> str | None:
        """The first camera's thumbnail (cameras sorted by topic)."""
        return self.thumbnails[min(self.thumbnails)] if self.thumbnails else None

    def features(self) -> dict[str, Any]:
        """JSON-ready features; the catalog stores these and :func:`describe` reads them."""
        duration_s = (self.end_ns - self.start_ns) / NS
        out: dict[str, Any] = {
            "duration_s": duration_s,
            "topics": {
                t: {
                    "count": n,
                    "rate_hz": round(n / duration_s, 3),
                    "max_gap_s": round(self.max_gap_ns.get(t, 0) / NS, 3),
                }
                for t, n in sorted(self.counts.items())
            },
        }
        if self.gaps_ns:
            out["gaps"] = {t: round(g / NS, 3) for t, g in sorted(self.gaps_ns.items())}
        cameras = {
            t: _camera_summary(frames, self.thumbnails.get(t))
            for t, frames in sorted(self.frames.items())
            if frames
        }
        if cameras:
            out["cameras"] = cameras
        for key, values in (("speed", self.speeds), ("cmd_speed", self.cmd_speeds)):
            if values:
                out[key] = {
                    "mean": _r(float(np.mean(values))),
                    "max": _r(max(values)),
                    "min": _r(min(values)),
                    "samples": len(values),
                }
        if self.perception:
            out["perception"] = {
                "probability_max": _r(max(self.perception)),
                "probability_mean": _r(float(np.mean(self.perception))),
                "obstacle_frames": self.obstacle_frames,
                "samples": len(self.perception),
            }
        if self.events:
            out["events"] = [vars(e) for e in self.events]
        return out


def _r(value: float) -> float:
    return round(float(value), 4)


def _camera_summary(frames: list[dict[str, float]], thumbnail: str | None) -> dict[str, Any]:
    return {
        "frames_decoded": len(frames),
        "brightness": _r(float(np.mean([f["brightness"] for f in frames]))),
        "contrast": _r(float(np.mean([f["contrast"] for f in frames]))),
        "saturated_frac": _r(max(f["saturated_frac"] for f in frames)),
        "dark_frac": _r(max(f["dark_frac"] for f in frames)),
        "thumbnail": thumbnail,
    }


@dataclass
class FeatureContext:
    """What extractors share across segments: the config and per-topic state."""

    config: FeatureConfig
    state: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


Extractor = Callable[[FeatureContext, Segment, LogMessage], None]


class SegmentBuilder:
    """Feeds messages into segments and hands back each segment once it is complete.

    Messages may arrive slightly out of order (logs without an index are read in file order):
    the previous segment stays open until a message lands two segments later. A message older
    than that still counts for its topic but adds no features (``late`` counts them).
    """

    def __init__(self, config: FeatureConfig) -> None:
        self.ctx = FeatureContext(config)
        self.segment_ns = config.segment_ns
        self.late = 0
        self._open: dict[int, Segment] = {}
        self._closed_below: int | None = None
        self._newest = -1
        self._last_time: dict[str, int] = {}
        self._period: dict[str, float] = {}
        self._extractors: dict[int, Extractor | None] = {}
        self._failed: set[str] = set()

    @property
    def notes(self) -> list[str]:
        return self.ctx.notes

    def add(self, message: LogMessage) -> list[Segment]:
        """Account for ``message``; returns the segments this message closed (often none)."""
        t = message.log_time_ns
        k = t // self.segment_ns
        if self._closed_below is not None and k < self._closed_below:
            self.late += 1
            return []
        segment = self._open.get(k)
        if segment is None:
            segment = self._open[k] = Segment(k * self.segment_ns, (k + 1) * self.segment_ns)
        topic = message.topic
        segment.counts[topic] += 1
        last = self._last_time.get(topic)
        if last is None or t > last:
            if last is not None:
                self._gap(segment, topic, t - last)
            self._last_time[topic] = t
        extractor = self._extractor(message.channel)
        if extractor is not None:
            self._run(extractor, segment, message)
        if k > self._newest:
            self._newest = k
            return self._close_below(k - 1)
        return []

    def _gap(self, segment: Segment, topic: str, gap: int) -> None:
        """Track the longest gap, and flag one much longer than the topic's usual period."""
        segment.max_gap_ns[topic] = max(segment.max_gap_ns.get(topic, 0), gap)
        period = self._period.get(topic)
        if period is not None and gap >= max(GAP_MIN_NS, GAP_FACTOR * period):
            segment.gaps_ns[topic] = max(segment.gaps_ns.get(topic, 0), gap)
        self._period[topic] = gap if period is None else 0.9 * period + 0.1 * gap

    def finish(self) -> list[Segment]:
        """Close every segment still open."""
        return self._close_below(None)

    def _close_below(self, limit: int | None) -> list[Segment]:
        keys = sorted(k for k in self._open if limit is None or k < limit)
        if limit is not None and (self._closed_below is None or limit > self._closed_below):
            self._closed_below = limit
        return [self._open.pop(k) for k in keys]

    def _extractor(self, channel: ChannelInfo) -> Extractor | None:
        key = id(channel)
        if key not in self._extractors:
            self._extractors[key] = EXTRACTORS.get(channel.type)
        return self._extractors[key]

    def _run(self, extractor: Extractor, segment: Segment, message: LogMessage) -> None:
        try:
            extractor(self.ctx, segment, message)
        except (
            AttributeError,
            KeyError,
            TypeError,
            ValueError,
            IndexError,
            OSError,
            Image.DecompressionBombError,
        ) as exc:
            if message.topic not in self._failed:
                self._failed.add(message.topic)
                self.ctx.notes.append(
                    f"features skipped on {message.topic} ({type(exc).__name__}: {exc})"
                )


# ------------------------------------------------------------------------------ extractors


def _get(obj: Any, path: str, default: Any = None) -> Any:
    """``a.b.c`` on decoded messages of any decoder (attributes, dicts, protobuf)."""
    for part in path.split("."):
        if obj is None:
            return default
        obj = obj.get(part) if isinstance(obj, dict) else getattr(obj, part, None)
    return default if obj is None else obj


def _sample_due(ctx: FeatureContext, segment: Segment, message: LogMessage) -> bool:
    """At most ``samples_per_segment`` evenly spaced decodes per topic and segment."""
    spacing = ctx.config.segment_ns // ctx.config.samples_per_segment
    last = segment.last_sample.get(message.topic)
    if last is not None and message.log_time_ns - last < spacing:
        return False
    segment.last_sample[message.topic] = message.log_time_ns
    return True


def _frame_pick(ctx: FeatureContext, segment: Segment, message: LogMessage) -> str | None:
    """'first' for the segment's first frame, 'mid' for the first frame after its middle."""
    picked = segment.picked.setdefault(message.topic, set())
    if "first" not in picked:
        picked.add("first")
        return "first"
    if "mid" not in picked and message.log_time_ns >= (segment.start_ns + segment.end_ns) // 2:
        picked.add("mid")
        return "mid"
    return None


def image_stats(gray: np.ndarray) -> dict[str, float]:
    """Brightness and contrast in [0, 1] and the saturated / dark pixel fractions."""
    values = gray.astype(np.float32)
    return {
        "brightness": float(values.mean() / 255.0) if values.size else 0.0,
        "contrast": float(values.std() / 255.0) if values.size else 0.0,
        "saturated_frac": float((gray >= SATURATED).mean()) if values.size else 0.0,
        "dark_frac": float((gray <= DARK).mean()) if values.size else 0.0,
    }


def _thumbnail(ctx: FeatureContext, image: Image.Image) -> str | None:
    if ctx.config.put_thumbnail is None:
        return None
    small = image.convert("RGB")
    small.thumbnail((ctx.config.thumbnail_px, ctx.config.thumbnail_px))
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=80)
    return ctx.config.put_thumbnail(out.getvalue())


def compressed_image(ctx: FeatureContext, segment: Segment, message: LogMessage) -> None:
    """JPEG/PNG frames: decoded at reduced scale (JPEG draft mode), then subsampled."""
    pick = _frame_pick(ctx, segment, message)
    if pick is None:
        return
    data = _get(message.decoded, "data")
    if data is None:
        return
    stride, thumb_px = ctx.config.pixel_stride, ctx.config.thumbnail_px
    with Image.open(io.BytesIO(bytes(data))) as image:
        full_w, full_h = image.size
        want = (thumb_px, thumb_px) if pick == "first" else (full_w // stride, full_h // stride)
        image.draft("RGB" if pick == "first" else "L", (max(1, want[0]), max(1, want[1])))
        rest = max(1, round(stride * image.size[0] / full_w))
        gray = np.asarray(image.convert("L"))[::rest, ::rest]
        _record_frame(ctx, segment, message.topic, gray, image if pick == "first" else None)


_RAW_LAYOUT = {  # depth encodings carry no brightness
    enc: layout for enc, layout in RAW_IMAGE_LAYOUT.items() if enc not in DEPTH_ENCODINGS
}


def raw_image(ctx: FeatureContext, segment: Segment, message: LogMessage) -> None:
    """sensor_msgs/Image with a colour or mono encoding, subsampled before any arithmetic."""
    pick = _frame_pick(ctx, segment, message)
    if pick is None:
        return
    msg = message.decoded
    layout = _RAW_LAYOUT.get(str(_get(msg, "encoding", "")))
    if msg is None or layout is None:
        return
    channels, kind = layout
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    dtype = np.dtype(kind).newbyteorder(">" if _get(msg, "is_bigendian", 0) else "<")
    buffer = np.frombuffer(bytes(msg.data), dtype=np.uint8)[: height * step]
    rows = buffer.reshape(height, step)[:: ctx.config.pixel_stride]
    pixels = rows[:, : width * channels * dtype.itemsize].copy().view(dtype)
    pixels = pixels.reshape(len(rows), width, channels)[:, :: ctx.config.pixel_stride]
    if dtype.itemsize == 2:
        pixels = (pixels // 257).astype(np.uint8)
    rgb = pixels[..., :3] if channels >= 3 else pixels[..., 0]
    if str(msg.encoding).startswith("bgr") and channels >= 3:
        rgb = rgb[..., ::-1]
    gray = rgb.mean(axis=2).astype(np.uint8) if rgb.ndim == 3 else rgb.astype(np.uint8)
    first = pick == "first"
    image = Image.fromarray(np.ascontiguousarray(rgb.astype(np.uint8))) if first else None
    _record_frame(ctx, segment, message.topic, gray, image)


def _record_frame(
    ctx: FeatureContext,
    segment: Segment,
    topic: str,
    gray: np.ndarray,
    thumbnail_from: Image.Image | None,
) -> None:
    segment.frames.setdefault(topic, []).append(image_stats(gray))
    if thumbnail_from is not None:
        sha = _thumbnail(ctx, thumbnail_from)
        if sha is not None:
            segment.thumbnails[topic] = sha


def _speed(vector: Any) -> float:
    return float(np.hypot(float(_get(vector, "x", 0.0)), float(_get(vector, "y", 0.0))))


def odometry(ctx: FeatureContext, segment: Segment, message: LogMessage) -> None:
    """Sample the robot's measured speed from an odometry message."""
    if _sample_due(ctx, segment, message):
        msg = message.decoded
        if msg is not None:
            segment.speeds.append(_speed(_get(msg, "twist.twist.linear")))


def twist(ctx: FeatureContext, segment: Segment, message: LogMessage) -> None:
    """Sample the commanded speed from a Twist message."""
    if _sample_due(ctx, segment, message):
        msg = message.decoded
        if msg is not None:
            segment.cmd_speeds.append(_speed(_get(msg, "linear")))


def twist_stamped(ctx: FeatureContext, segment: Segment, message: LogMessage) -> None:
    """Sample the commanded speed from a TwistStamped message."""
    if _sample_due(ctx, segment, message):
        msg = message.decoded
        if msg is not None:
            segment.cmd_speeds.append(_speed(_get(msg, "twist.linear")))


def perception(ctx: FeatureContext, segment: Segment, message: LogMessage) -> None:
    """Record the perception output: its stop probability and whether it saw an obstacle."""
    msg = message.decoded
    if msg is not None:
        segment.perception.append(float(_get(msg, "probability", 0.0)))
        segment.obstacle_frames += bool(_get(msg, "obstacle", False))


def robot_event(ctx: FeatureContext, segment: Segment, message: LogMessage) -> None:
    """Record a robot event (stall, e-stop, ...) with its time, topic, severity and detail."""
    msg = message.decoded
    if msg is not None:
        segment.events.append(
            EventRecord(
                message.log_time_ns,
                message.topic,
                str(_get(msg, "kind", "event")),
                str(_get(msg, "severity", "")),
                str(_get(msg, "detail", "")),
            )
        )


def _level(value: Any) -> int:
    return value[0] if isinstance(value, bytes | bytearray) and value else int(value or 0)


_DIAGNOSTIC_SEVERITY = {2: "error", 3: "stale"}


def diagnostics(ctx: FeatureContext, segment: Segment, message: LogMessage) -> None:
    """An event when a diagnostic goes into error (or stale), not on every repeat of it."""
    msg = message.decoded
    if msg is None:
        return
    states: dict[str, int] = ctx.state.setdefault("diagnostics", {})
    for status in _get(msg, "status", []) or []:
        name, level = str(_get(status, "name", "")), _level(_get(status, "level", 0))
        previous, states[name] = states.get(name, 0), level
        if level in _DIAGNOSTIC_SEVERITY and level != previous:
            detail = f"{name}: {_get(status, 'message', '')}".strip()
            segment.events.append(
                EventRecord(
                    message.log_time_ns,
                    message.topic,
                    "diagnostic_error",
                    _DIAGNOSTIC_SEVERITY[level],
                    detail,
                )
            )


_ROSOUT_ERROR = {"rcl_interfaces/Log": 40, "rosgraph_msgs/Log": 8}  # ERROR level per ROS


def rosout(ctx: FeatureContext, segment: Segment, message: LogMessage) -> None:
    """Error and fatal log lines become events."""
    msg = message.decoded
    threshold = _ROSOUT_ERROR.get(message.channel.type, 40)
    if msg is not None and _level(_get(msg, "level", 0)) >= threshold:
        detail = f"{_get(msg, 'name', '')}: {_get(msg, 'msg', '')}".strip(": ")
        segment.events.append(
            EventRecord(message.log_time_ns, message.topic, "log_error", "error", detail)
        )


EXTRACTORS: dict[str, Extractor] = {
    "sensor_msgs/CompressedImage": compressed_image,
    "foxglove/CompressedImage": compressed_image,
    "sensor_msgs/Image": raw_image,
    "nav_msgs/Odometry": odometry,
    "geometry_msgs/Twist": twist,
    "geometry_msgs/TwistStamped": twist_stamped,
    "robotops_msgs/ObstacleDetection": perception,
    "robotops_msgs/Event": robot_event,
    "diagnostic_msgs/DiagnosticArray": diagnostics,
    "rcl_interfaces/Log": rosout,
    "rosgraph_msgs/Log": rosout,
}


# ----------------------------------------------------------------------------- description


def describe(features: dict[str, Any], robot_id: str = "", zone: str = "", digits: int = 2) -> str:
    """What happened in a segment, in words, for people and for the text embedding.

    ``digits`` is how many decimals fractions (probabilities, brightness, contrast) get. Ingest
    embeds the description with 1: MiniLM hardly tells 0.53 from 0.55 (the vectors are within
    0.997 cosine), and segments that differ only there then share one vector, which is most of
    them in a long log, and embedding is the dearest step of indexing one.
    """
    who = f"robot {robot_id}" if robot_id else "robot"
    if zone:
        who += f" in {zone}"
    parts = [who]
    speed, cmd = features.get("speed"), features.get("cmd_speed")
    if speed:
        if speed["max"] < STOPPED_MPS:
            parts[0] += " stopped"
            parts.append("speed 0.0 m/s")
        else:
            parts[0] += " moving"
            parts.append(f"speed {speed['mean']:.1f} m/s (max {speed['max']:.1f})")
        if cmd and cmd["max"] >= 2 * STOPPED_MPS and speed["max"] < STOPPED_MPS:
            parts.append(f"commanded {cmd['max']:.1f} m/s but not moving")
    elif cmd:
        parts.append(f"commanded speed {cmd['mean']:.1f} m/s")
    if perception := features.get("perception"):
        parts.append(
            f"perception obstacle probability up to "
            f"{perception['probability_max']:.{digits}f}"
            f" (mean {perception['probability_mean']:.{digits}f})"
        )
    for topic, cam in (features.get("cameras") or {}).items():
        parts.append(_describe_camera(topic, cam, digits))
    for topic, gap_s in (features.get("gaps") or {}).items():
        parts.append(f"gap of {gap_s:.1f} s on {topic}")
    if events := features.get("events"):
        parts.append(
            "events: "
            + ", ".join(
                f"{e['kind']}" + (f" ({e['detail']})" if e["detail"] else "") for e in events
            )
        )
    if len(parts) == 1:
        busiest = sorted(features.get("topics", {}).items(), key=lambda kv: -kv[1]["count"])[:5]
        parts.append("topics: " + ", ".join(f"{t} {s['rate_hz']:g} Hz" for t, s in busiest))
    return "; ".join(parts)


def _describe_camera(topic: str, cam: dict[str, Any], digits: int = 2) -> str:
    brightness, saturated = f"brightness {cam['brightness']:.{digits}f}", cam["saturated_frac"]
    if saturated >= GLARE_FRAC:
        return f"camera {topic} saturated {saturated:.0%} of pixels (glare?), {brightness}"
    if saturated >= SPOT_FRAC:
        return (
            f"camera {topic} has a saturated spot ({saturated:.1%} of pixels; "
            f"glare, flare or a lamp?), {brightness}"
        )
    if cam["brightness"] < 0.15 or cam["dark_frac"] >= 0.5:
        return f"camera {topic} dark, {brightness} (low light?)"
    return f"camera {topic} {brightness}, contrast {cam['contrast']:.{digits}f}"
