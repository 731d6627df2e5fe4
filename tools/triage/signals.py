"""Generic signals around an incident, computed from standard message types only.

Camera frames (clipped pixels, a dark band across the floor), the range scan (free space
straight ahead), and the drive (when the stop began, commanded against measured motion, wheel
slip against localisation, steering reversals, how late the robot follows its commands). Each
function takes the decoded messages of one role as ``(log_time_ns, message)`` pairs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from robotops.tools.labeling.frames import decode_compressed, decode_raw
from robotops.tools.triage.window import get

FRONT_SECTOR_RAD = math.radians(15)
MOVING_M_S = 0.05


def decode_image(msg: Any, compressed: bool) -> np.ndarray:
    """RGB frame of a camera message, by the labeling frame decoders (any encoding they read)."""
    return decode_compressed(msg) if compressed else decode_raw(msg)


def saturation(img: np.ndarray) -> float:
    """Fraction of pixels whose brightest channel is clipped."""
    return float((img.max(axis=2) >= 250).mean())


BAND_SEGMENTS = 3  # a band must darken every part of the floor's width, not one object
LIT_FLOOR = 45.0  # darker surroundings are not lit floor (shelves, the far wall, the ceiling)
GREY_CHROMA = 20.0  # floors are grey: shelves, walls and vests are not


def _centre(rgb: np.ndarray) -> np.ndarray:
    """The central third of the frame's width: floor all the way to the horizon."""
    w = rgb.shape[1]
    return rgb[:, w // 3 : w - w // 3]


def floor_profiles(centre: np.ndarray) -> np.ndarray:
    """Median luminance of the floor-like (grey, not black) pixels of each row, in a few
    segments across the width; NaN where a segment's row is mostly something else."""
    lum = centre.mean(axis=2)
    grey = (centre.max(axis=2) - centre.min(axis=2) < GREY_CHROMA) & (lum > 20)
    out = []
    for part, mask in zip(
        np.array_split(lum, BAND_SEGMENTS, axis=1),
        np.array_split(grey, BAND_SEGMENTS, axis=1),
        strict=True,
    ):
        floor = mask & (mask.mean(axis=1) >= 0.5)[:, None]
        out.append(np.ma.median(np.ma.masked_array(part, ~floor), axis=1).filled(np.nan))
    return np.stack(out)


def dark_band(img: np.ndarray) -> tuple[float, float, int]:
    """The deepest dark band across the floor ahead: how much darker than the lit floor around
    it (0..1, the least over the segments across the width that show floor), its blue/red tint
    against that floor, and its row (-1: none). A shadow or a spill spans the width, near (many
    rows) or far (a thin line near the horizon); an object does not. A shadow keeps the floor's
    colour, a film of oil does not. A dark patch that reaches the bottom of the frame is
    measured against the floor beyond it."""
    centre = _centre(img.astype(np.float32))
    profiles = floor_profiles(centre)
    h = profiles.shape[1]
    reach = max(4, h // 4)
    lit_rows = np.nan_to_num(profiles, nan=0.0)  # not floor: not lit floor either
    best, best_row, best_ref = 0.0, -1, -1
    for i in range(h // 4, h):
        start = max(h // 4, i - reach)
        above = lit_rows[:, start:i].max(axis=1, initial=0.0)
        below = lit_rows[:, i + 1 : i + 1 + reach].max(axis=1, initial=0.0)
        nothing_below = lit_rows[:, i + 1 :].max(initial=0.0) < LIT_FLOOR  # a patch up close
        lit = above if nothing_below else np.minimum(above, below)
        valid = (lit >= LIT_FLOOR) & ~np.isnan(profiles[:, i])
        if valid.sum() < 2:
            continue
        depth = float((1.0 - profiles[valid, i] / lit[valid]).min())
        if depth > best:
            best, best_row = depth, i
            best_ref = start + int(np.argmax(lit_rows[:, start:i].min(axis=0)))
    if best_row < 0:
        return 0.0, 1.0, -1
    return best, _tint(centre, best_row, best_ref), best_row


def _tint(centre: np.ndarray, row: int, ref_row: int) -> float:
    """Blue/red balance of ``row`` against the lit floor row ``ref_row``."""
    band, ref = centre[row].mean(axis=0), centre[ref_row].mean(axis=0)
    return float((band[2] / max(band[0], 1.0)) / (ref[2] / max(ref[0], 1.0)))


def front_range(scan: Any) -> float:
    """Smallest valid range within ±15° of straight ahead."""
    lo, inc = float(get(scan, "angle_min")), float(get(scan, "angle_increment"))
    rmin, rmax = float(get(scan, "range_min")), float(get(scan, "range_max"))
    best = math.inf
    for i, r in enumerate(get(scan, "ranges", default=[])):
        if abs(lo + i * inc) <= FRONT_SECTOR_RAD and rmin <= r <= rmax:
            best = min(best, float(r))
    return best


def twist(msg: Any) -> tuple[float, float]:
    """Forward and turn rate of a Twist, TwistStamped or Odometry message."""
    inner = get(msg, "twist", "twist") or get(msg, "twist") or msg
    return float(get(inner, "linear", "x", default=0.0)), float(
        get(inner, "angular", "z", default=0.0)
    )


def stop_onset(cmds: list[tuple[int, Any]], t_ns: int) -> int:
    """When the stop that the incident reports began: the start of the run of zero forward
    commands that reaches ``t_ns`` (``t_ns`` itself when the robot was still being driven)."""
    onset = t_ns
    for t, msg in reversed([c for c in cmds if c[0] <= t_ns]):
        if abs(twist(msg)[0]) > MOVING_M_S:
            break
        onset = t
    return onset


def steering_reversals(cmds: list[tuple[int, Any]], threshold: float = 0.3) -> int:
    """Sign changes of commanded turn rate: a heading loop that oscillates."""
    count, last = 0, 0.0
    for _, c in cmds:
        w = twist(c)[1]
        if abs(w) > threshold:
            if last * w < 0:
                count += 1
            last = w
    return count


def _series(msgs: list[tuple[int, Any]], index: int) -> tuple[np.ndarray, np.ndarray]:
    t = np.array([m[0] for m in msgs], np.float64) / 1e9
    return t, np.array([twist(m[1])[index] for m in msgs], np.float64)


def response_lag(
    cmds: list[tuple[int, Any]], odom: list[tuple[int, Any]], max_lag_s: float = 2.0
) -> tuple[float, float]:
    """How late the measured turn rate follows the commanded one (s), and how well (0..1).

    A motor controller that applies commands late makes the heading loop chase itself."""
    if len(cmds) < 20 or len(odom) < 20:
        return 0.0, 0.0
    tc, wc = _series(cmds, 1)
    to, wo = _series(odom, 1)
    if np.std(wc) < 0.05 or np.std(wo) < 0.05:
        return 0.0, 0.0
    best = (0.0, -1.0)
    for lag in np.arange(0.0, max_lag_s + 1e-9, 0.05):
        shifted = np.interp(tc + lag, to, wo, left=np.nan, right=np.nan)
        ok = ~np.isnan(shifted)
        if ok.sum() < 20 or min(np.std(shifted[ok]), np.std(wc[ok])) < 1e-6:
            continue
        r = float(np.corrcoef(wc[ok], shifted[ok])[0, 1])
        if r > best[1]:
            best = (float(lag), r)
    return best[0], max(best[1], 0.0)


def _position(msg: Any) -> tuple[float, float]:
    """x, y of a PoseStamped or PoseWithCovarianceStamped."""
    point = get(msg, "pose", "pose", "position") or get(msg, "pose", "position")
    return float(get(point, "x", default=0.0)), float(get(point, "y", default=0.0))


def slip_fraction(odom: list[tuple[int, Any]], poses: list[tuple[int, Any]]) -> float:
    """Fraction of moving time when wheel odometry and localisation disagree on speed by more
    than half: the wheels spin while the robot stays, or it slides while they stand (a
    slippery floor)."""
    if len(poses) < 3 or len(odom) < 3:
        return 0.0
    tp = np.array([p[0] for p in poses], np.float64) / 1e9
    xy = np.array([_position(p) for _, p in poses])
    dt = np.diff(tp)
    ok = dt > 0
    v_true = np.linalg.norm(np.diff(xy, axis=0), axis=1)[ok] / dt[ok]
    t_mid = ((tp[1:] + tp[:-1]) / 2)[ok]
    to, vo = _series(odom, 0)
    v_wheels = np.abs(np.interp(t_mid, to, vo))
    fastest = np.maximum(v_wheels, v_true)
    moving = fastest > 0.2
    if not moving.any():
        return 0.0
    return float((np.abs(v_wheels - v_true)[moving] / fastest[moving] > 0.5).mean())
