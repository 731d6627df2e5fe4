"""Generic signals around an incident, found by message type rather than topic name.

Works on any MCAP whose channels use standard ROS 2 types: camera images (compressed or raw),
laser scans, velocity commands, odometry, diagnostics and events. Each signal is cheap: a few
dozen frames and a few hundred small messages.
"""

from __future__ import annotations

import io
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
from PIL import Image

from robotops.errors import LogFormatError

TYPES = {
    "image": ("sensor_msgs/CompressedImage", "sensor_msgs/Image"),
    "scan": ("sensor_msgs/LaserScan",),
    "cmd": ("geometry_msgs/Twist", "geometry_msgs/TwistStamped"),
    "odom": ("nav_msgs/Odometry",),
    "perception": ("robotops_msgs/ObstacleDetection",),
    "diagnostics": ("diagnostic_msgs/DiagnosticArray",),
    "events": ("robotops_msgs/Event",),
}
FRONT_SECTOR_RAD = math.radians(15)


def normalise_type(schema_name: str) -> str:
    """'sensor_msgs/msg/Image' and 'sensor_msgs/Image' are the same type."""
    return schema_name.replace("/msg/", "/")


@dataclass
class Window:
    """Decoded messages of interest in a time window, grouped by role."""

    log: str
    topics: dict[str, str] = field(default_factory=dict)  # role -> topic
    messages: dict[str, list[tuple[int, Any]]] = field(default_factory=lambda: defaultdict(list))


def _role(schema_name: str) -> str | None:
    t = normalise_type(schema_name)
    return next((role for role, types in TYPES.items() if t in types), None)


def read_window(path: str, start_ns: int, end_ns: int) -> Window:
    """Decode the messages whose type matters for triage, through the MCAP index."""
    win = Window(log=path)
    try:
        with open(path, "rb") as f:
            reader = make_reader(f, decoder_factories=[DecoderFactory()])
            summary = reader.get_summary()
            if summary is None:
                raise LogFormatError(
                    path, "no summary section; run `robotops ingest --salvage` first"
                )
            wanted = {}
            for ch in summary.channels.values():
                schema = summary.schemas.get(ch.schema_id)
                role = _role(schema.name) if schema else None
                if role and role not in win.topics:
                    win.topics[role] = ch.topic
                    wanted[ch.topic] = role
            for _, ch, msg, ros in reader.iter_decoded_messages(
                topics=list(wanted), start_time=start_ns, end_time=end_ns, log_time_order=True
            ):
                win.messages[wanted[ch.topic]].append((msg.log_time, ros))
    except (OSError, ValueError, KeyError) as exc:
        raise LogFormatError(path, f"cannot read the window: {exc}") from exc
    return win


def decode_image(msg: Any) -> np.ndarray:
    """RGB uint8 array from a CompressedImage or a raw rgb8/bgr8/mono8 Image."""
    if hasattr(msg, "format"):
        return np.asarray(Image.open(io.BytesIO(bytes(msg.data))).convert("RGB"))
    arr = np.frombuffer(bytes(msg.data), np.uint8)
    channels = 1 if msg.encoding in ("mono8", "8UC1") else 3
    img = arr.reshape(msg.height, msg.step)[:, : msg.width * channels].reshape(
        msg.height, msg.width, channels
    )
    img = np.repeat(img, 3, axis=2) if channels == 1 else img
    return img[..., ::-1] if msg.encoding == "bgr8" else img


def saturation(img: np.ndarray) -> float:
    """Fraction of pixels whose brightest channel is clipped."""
    return float((img.max(axis=2) >= 250).mean())


def _floor_rows(rgb: np.ndarray) -> np.ndarray:
    """Median luminance of the grey (floor-like) pixels of each row's central part; NaN for rows
    that are mostly something else (shelves, ceiling, objects)."""
    h, w = rgb.shape[:2]
    centre = rgb[:, w // 6 : w - w // 6]
    lum = centre.mean(axis=2)
    grey = (np.abs(centre[..., 2] - centre[..., 0]) < 18) & (lum > 20)
    out = np.full(h, np.nan, np.float32)
    for i in range(h // 4, h):
        if grey[i].mean() > 0.5:
            out[i] = float(np.median(lum[i][grey[i]]))
    return out


def dark_band(img: np.ndarray) -> tuple[float, float]:
    """The darkest horizontal band across the floor: how much darker it is than the floor rows
    around it (0..1), and its blue/red tint relative to that floor. Shadows and dark spills span
    the width; obstacles rarely do. A shadow keeps the floor's colour, a film of oil does not."""
    rgb = img.astype(np.float32)
    rows = _floor_rows(rgb)
    h, w = rgb.shape[:2]
    best, tint = 0.0, 1.0
    for i in range(h // 4, h):
        if np.isnan(rows[i]):
            continue
        above = [r for r in rows[max(0, i - 7) : max(0, i - 1)] if not np.isnan(r)]
        below = [r for r in rows[i + 2 : i + 8] if not np.isnan(r)]
        if not below:
            continue
        around = float(np.median(above + below))
        if max(below) < 0.8 * around or (above and max(above) < 0.8 * around) or around < 45:
            continue  # lit floor on both sides (or below only, for a far band at the horizon)
        depth = (around - rows[i]) / around
        if depth > best:
            band = rgb[i, w // 6 : w - w // 6].mean(axis=0)
            ref = rgb[min(h - 1, i + 4), w // 6 : w - w // 6].mean(axis=0)
            best = float(depth)
            tint = float((band[2] / max(band[0], 1.0)) / (ref[2] / max(ref[0], 1.0)))
    return best, tint


def front_range(scan: Any) -> float:
    """Smallest valid range within ±15° of straight ahead."""
    best = math.inf
    for i, r in enumerate(scan.ranges):
        angle = scan.angle_min + i * scan.angle_increment
        if abs(angle) <= FRONT_SECTOR_RAD and scan.range_min <= r <= scan.range_max:
            best = min(best, float(r))
    return best


def steering_reversals(cmds: list[tuple[int, Any]], threshold: float = 0.3) -> int:
    """Sign changes of commanded turn rate: a heading loop that oscillates."""
    count, last = 0, 0.0
    for _, c in cmds:
        w = (c.twist if hasattr(c, "twist") else c).angular.z
        if abs(w) > threshold:
            if last * w < 0:
                count += 1
            last = w
    return count
