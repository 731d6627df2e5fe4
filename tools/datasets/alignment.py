"""The alignment gate: refuse a log whose clocks, rates or labels do not line up, before training.

The range teacher pairs each camera frame with the scan nearest in time, so a skewed clock
silently pairs frames with the wrong scan and trains the model on wrong targets. Per log, for
the camera, range and odometry channels (found by message type), the gate measures:

* clock offset and drift of each channel: ``header.stamp`` against log time, by a linear fit;
* motion lag: image-difference energy cross-correlated with odometry motion, which catches a
  camera whose log times themselves are shifted (resolution ~0.25 s at 5 Hz);
* gaps (beyond k x the nominal period), duplicate and out-of-order timestamps;
* labels whose frame times match no camera frame.

Every problem names the log, topic, time and size; thresholds are :class:`DatasetSettings`.
"""

from __future__ import annotations

import bisect
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image
from pydantic import BaseModel, Field

from robotops.errors import InvalidRequestError
from robotops.settings import DatasetSettings
from robotops.sim.logs.readers import open_log
from robotops.tools.labeling.frames import COMPRESSED_TYPES, IMAGE_TYPES

ROLES = {
    "camera": IMAGE_TYPES,
    "scan": ("sensor_msgs/LaserScan",),
    "odom": ("nav_msgs/Odometry",),
}
REQUIRED = ("camera", "scan")
GRID_S = 0.05
MAX_SEARCH_S = 2.0
ProblemKind = Literal[
    "missing_channel",
    "offset",
    "drift",
    "motion_lag",
    "gap",
    "duplicate",
    "out_of_order",
    "label_mismatch",
]


class AlignmentProblem(BaseModel):
    """One thing wrong with a log's timing, where it is and how big."""

    log: str
    topic: str
    time_ns: int
    kind: ProblemKind
    size: float
    unit: str
    message: str


class ChannelClock(BaseModel):
    """What the gate measured on one channel."""

    topic: str
    role: str
    messages: int
    start_ns: int = 0
    period_s: float | None = None
    offset_s: float | None = Field(None, description="median log time - header stamp")
    drift_ppm: float | None = Field(None, description="slope of (log - stamp) vs log time")
    motion_lag_s: float | None = Field(None, description="lag behind odometry motion")
    gaps: int = 0
    duplicates: int = 0
    out_of_order: int = 0


class AlignmentReport(BaseModel):
    """The gate's verdict on one log."""

    log: str
    path: str
    ok: bool
    channels: list[ChannelClock]
    problems: list[AlignmentProblem]

    def text(self) -> str:
        head = f"log {self.log}: " + ("aligned" if self.ok else f"{len(self.problems)} problem(s)")
        return "\n".join([head, *(f"  {p.message}" for p in self.problems)])


class AlignmentError(InvalidRequestError):
    """Bad data stopped the plan; the reports say where."""

    def __init__(self, reports: list[AlignmentReport]) -> None:
        self.reports = reports
        problems = [p for r in reports for p in r.problems]
        shown = "; ".join(p.message for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(
            f"alignment gate: {len(problems)} problem(s) in {len(reports)} log(s): {shown}{more}"
            " - fix or leave out these logs before training"
        )


@dataclass
class _Channel:
    topic: str
    role: str
    log_ns: list[int] = field(default_factory=list)
    stamp_ns: list[int | None] = field(default_factory=list)
    motion_t: list[float] = field(default_factory=list)
    motion: list[float] = field(default_factory=list)
    _last: Any = None
    _last_t: int | None = None


def _get(msg: Any, name: str, default: Any = None) -> Any:
    value = msg.get(name) if isinstance(msg, dict) else getattr(msg, name, None)
    return default if value is None else value


def _stamp(msg: Any) -> int | None:
    stamp = _get(_get(msg, "header"), "stamp")
    if stamp is None:
        return None
    return int(_get(stamp, "sec", 0)) * 1_000_000_000 + int(_get(stamp, "nanosec", 0))


def _image_small(msg: Any, compressed: bool) -> np.ndarray | None:
    """A small grayscale view of a frame, enough for frame-difference energy."""
    try:
        if compressed:
            with Image.open(io.BytesIO(bytes(_get(msg, "data", b"")))) as im:
                im.draft("L", (64, 48))
                return np.asarray(im.convert("L").resize((32, 24)), np.float32)
        from robotops.tools.labeling.frames import decode_raw

        rgb = decode_raw(msg)
        return np.asarray(Image.fromarray(rgb).convert("L").resize((32, 24)), np.float32)
    except Exception:  # an undecodable frame gives no motion sample; the labeler reports it
        return None


def _motion_value(ch: _Channel, msg: Any, t: int, compressed: bool) -> None:
    """Append the channel's motion signal at the midpoint between this and the last message."""
    if ch.role == "odom":
        twist = _get(_get(msg, "twist"), "twist")
        v = abs(float(_get(_get(twist, "linear"), "x", 0.0)))
        w = abs(float(_get(_get(twist, "angular"), "z", 0.0)))
        ch.motion_t.append(t / 1e9)
        ch.motion.append(v + 0.3 * w)
        return
    now = _image_small(msg, compressed)
    if now is None:
        return
    if ch._last is not None and ch._last_t is not None and ch._last.shape == now.shape:
        ch.motion_t.append((t + ch._last_t) / 2e9)
        ch.motion.append(float(np.abs(now - ch._last).mean()))
    ch._last, ch._last_t = now, t


def _read(path: Path) -> dict[str, _Channel]:
    channels: dict[str, _Channel] = {}
    with open_log(path) as reader:
        for message in reader.messages():
            role = next((r for r, types in ROLES.items() if message.channel.type in types), None)
            if role is None:
                continue
            ch = channels.setdefault(message.topic, _Channel(message.topic, role))
            msg = message.decoded
            ch.log_ns.append(message.log_time_ns)
            ch.stamp_ns.append(_stamp(msg) if msg is not None else None)
            if msg is not None:
                _motion_value(
                    ch, msg, message.log_time_ns, message.channel.type in COMPRESSED_TYPES
                )
    return channels


def _problem(log: str, topic: str, t: int, kind: ProblemKind, size: float, unit: str, what: str):
    return AlignmentProblem(
        log=log,
        topic=topic,
        time_ns=t,
        kind=kind,
        size=size,
        unit=unit,
        message=f"{log[:12]} {topic} at {t}: {what}",
    )


def _timing(
    log: str, ch: _Channel, s: DatasetSettings, out: list[AlignmentProblem]
) -> ChannelClock:
    """Rate, gaps, duplicates, out-of-order stamps, offset and drift of one channel."""
    t = np.array(ch.log_ns, np.int64)
    clock = ChannelClock(
        topic=ch.topic, role=ch.role, messages=len(t), start_ns=int(t[0]) if len(t) else 0
    )
    if len(t) < 3:
        return clock
    d = np.diff(t)
    period = float(np.median(d[d > 0])) / 1e9 if (d > 0).any() else 0.0
    clock.period_s = period
    for i in np.flatnonzero(d > s.gap_factor * period * 1e9) if period > 0 else []:
        clock.gaps += 1
        size = float(d[i]) / 1e9
        out.append(
            _problem(
                log,
                ch.topic,
                int(t[i]),
                "gap",
                size,
                "s",
                f"gap of {size:.3f} s ({size / period:.0f}x the {period:.3f} s period)",
            )
        )
    stamps = np.array([x if x is not None else -1 for x in ch.stamp_ns], np.int64)
    has = stamps >= 0
    dup = np.flatnonzero((d == 0) | ((np.diff(stamps) == 0) & has[1:] & has[:-1]))
    clock.duplicates = len(dup)
    if len(dup) > s.max_duplicates:
        out.append(
            _problem(
                log,
                ch.topic,
                int(t[dup[0] + 1]),
                "duplicate",
                float(len(dup)),
                "messages",
                f"{len(dup)} duplicate timestamp(s)",
            )
        )
    back = np.flatnonzero((np.diff(stamps) < 0) & has[1:] & has[:-1])
    clock.out_of_order = len(back)
    if len(back) > s.max_out_of_order:
        i = int(back[0])
        size = float(stamps[i] - stamps[i + 1]) / 1e9
        out.append(
            _problem(
                log,
                ch.topic,
                int(t[i + 1]),
                "out_of_order",
                size,
                "s",
                f"{len(back)} out-of-order stamp(s), first {size:.3f} s backwards",
            )
        )
    if has.sum() >= 3:
        lag = (t[has] - stamps[has]) / 1e9
        x = (t[has] - t[has][0]) / 1e9
        clock.offset_s = float(np.median(lag))
        if x[-1] > 0:
            clock.drift_ppm = float(np.polyfit(x, lag, 1)[0] * 1e6)
            if abs(clock.drift_ppm) > s.max_drift_ppm:
                out.append(
                    _problem(
                        log,
                        ch.topic,
                        int(t[-1]),
                        "drift",
                        clock.drift_ppm,
                        "ppm",
                        f"clock drifts {clock.drift_ppm:.0f} ppm against log time "
                        f"({clock.drift_ppm * x[-1] / 1e3:.1f} ms over the log)",
                    )
                )
    return clock


def motion_lag(
    ref_t: list[float], ref: list[float], t: list[float], sig: list[float]
) -> float | None:
    """How far ``sig`` lags ``ref`` (s), from the peak of their cross-correlation; None when
    either signal is too short or too flat to say."""
    if len(ref) < 10 or len(sig) < 10:
        return None
    lo, hi = max(ref_t[0], t[0]), min(ref_t[-1], t[-1])
    if hi - lo < 4 * MAX_SEARCH_S:
        return None
    grid = np.arange(lo, hi, GRID_S)
    a = np.interp(grid, ref_t, ref)
    b = np.interp(grid, t, sig)
    if a.std() < 1e-6 or b.std() < 1e-6:
        return None
    a, b = (a - a.mean()) / a.std(), (b - b.mean()) / b.std()
    k = int(MAX_SEARCH_S / GRID_S)
    n = len(grid)
    scores = [float(np.dot(a[: n - lag], b[lag:])) / (n - lag) for lag in range(k + 1)]
    scores_neg = [float(np.dot(a[lag:], b[: n - lag])) / (n - lag) for lag in range(1, k + 1)]
    lags = list(range(k + 1)) + [-lag for lag in range(1, k + 1)]
    best = int(np.argmax(scores + scores_neg))
    if (scores + scores_neg)[best] < 0.2:
        return None
    return lags[best] * GRID_S


def check_alignment(
    path: Path,
    settings: DatasetSettings | None = None,
    log_id: str | None = None,
    label_frames: Iterable[tuple[str, int]] = (),
) -> AlignmentReport:
    """Measure one log's timing; ``label_frames`` are (label, frame_ns) pairs to match.

    Raises:
        LogFormatError: the log cannot be read at all.
    """
    s = settings or DatasetSettings()
    log = log_id or Path(path).name
    channels = _read(Path(path))
    problems: list[AlignmentProblem] = []
    for role in REQUIRED:
        if not any(c.role == role for c in channels.values()):
            problems.append(
                _problem(log, "-", 0, "missing_channel", 0.0, "", f"no {role} channel (by type)")
            )
    clocks = {topic: _timing(log, ch, s, problems) for topic, ch in sorted(channels.items())}
    _offsets(log, clocks, s, problems)
    _motion(log, channels, clocks, s, problems)
    _labels(log, channels, label_frames, s, problems)
    return AlignmentReport(
        log=log,
        path=str(path),
        ok=not problems,
        channels=list(clocks.values()),
        problems=problems,
    )


def _offsets(
    log: str, clocks: dict[str, ChannelClock], s: DatasetSettings, out: list[AlignmentProblem]
) -> None:
    """Each channel's stamp clock against the reference's (odometry, else range)."""
    with_offset = [c for c in clocks.values() if c.offset_s is not None]
    ref = next((c for role in ("odom", "scan") for c in with_offset if c.role == role), None)
    if ref is None:
        return
    for c in with_offset:
        rel = (c.offset_s or 0.0) - (ref.offset_s or 0.0)
        if c is not ref and abs(rel) > s.max_offset_s:
            out.append(
                _problem(
                    log,
                    c.topic,
                    c.start_ns,
                    "offset",
                    rel,
                    "s",
                    f"header clock {rel * 1e3:+.0f} ms off {ref.topic}'s",
                )
            )


def _motion(
    log: str,
    channels: dict[str, _Channel],
    clocks: dict[str, ChannelClock],
    s: DatasetSettings,
    out: list[AlignmentProblem],
) -> None:
    """Camera motion against odometry motion: a shifted log clock shows as lag. (A planar
    scan's change rate follows the actors more than the robot, so it is not used.)"""
    odom = next((c for c in channels.values() if c.role == "odom"), None)
    if odom is None:
        return
    for ch in channels.values():
        if ch.role != "camera":
            continue
        lag = motion_lag(odom.motion_t, odom.motion, ch.motion_t, ch.motion)
        clocks[ch.topic].motion_lag_s = lag
        if lag is not None and abs(lag) > s.max_motion_lag_s:
            out.append(
                _problem(
                    log,
                    ch.topic,
                    ch.log_ns[0],
                    "motion_lag",
                    lag,
                    "s",
                    f"motion lags odometry by {lag:+.2f} s (log clock skewed)",
                )
            )


def _labels(
    log: str,
    channels: dict[str, _Channel],
    label_frames: Iterable[tuple[str, int]],
    s: DatasetSettings,
    out: list[AlignmentProblem],
) -> None:
    frames = sorted(t for c in channels.values() if c.role == "camera" for t in c.log_ns)
    tolerance = int(s.label_tolerance_s * 1e9)
    bad = []
    for value, t in label_frames:
        i = bisect.bisect_left(frames, t)
        near = [frames[j] for j in (i - 1, i) if 0 <= j < len(frames)]
        miss = min((abs(f - t) for f in near), default=None)
        if miss is None or miss > tolerance:
            bad.append((value, t, miss))
    if bad:
        value, t, miss = bad[0]
        size = miss / 1e9 if miss is not None else float("inf")
        out.append(
            _problem(
                log,
                "labels",
                t,
                "label_mismatch",
                float(len(bad)),
                "labels",
                f"{len(bad)} label(s) match no camera frame (first {value!r}, "
                f"nearest frame {size * 1e3:.0f} ms away)",
            )
        )
