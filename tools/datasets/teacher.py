"""The range scanner as teacher for the camera: targets that glare and shadows cannot fool.

A retro-reflective vest beside the lane or a shadow band on the floor is not an obstacle to a
laser: its returns say the corridor ahead is free. So each camera frame takes its target from
the scan nearest in time, which is also why the clocks must agree (see ``alignment``).
"""

from __future__ import annotations

import bisect
import math
from typing import Any

import numpy as np

from robotops.sim.baseline import CORRIDOR_HALF_WIDTH, STOP_DISTANCE
from robotops.tools.datasets.models import TeacherConfig


def default_teacher(scan_tolerance_s: float = 0.06) -> TeacherConfig:
    """The teacher matching the perception model's definition of "obstacle in the path"."""
    return TeacherConfig(
        stop_distance_m=STOP_DISTANCE,
        corridor_half_width_m=CORRIDOR_HALF_WIDTH,
        scan_tolerance_s=scan_tolerance_s,
    )


def _get(msg: Any, name: str, default: Any = None) -> Any:
    value = msg.get(name) if isinstance(msg, dict) else getattr(msg, name, None)
    return default if value is None else value


def scan_target(scan: Any, teacher: TeacherConfig) -> int:
    """1 when any return lies in the corridor ahead within the stop distance, else 0."""
    ranges = np.asarray(_get(scan, "ranges", []), dtype=np.float64)
    if ranges.size == 0:
        return 0
    a0 = float(_get(scan, "angle_min", 0.0))
    inc = float(_get(scan, "angle_increment", 0.0))
    rmin, rmax = float(_get(scan, "range_min", 0.0)), float(_get(scan, "range_max", math.inf))
    angles = a0 + inc * np.arange(ranges.size)
    valid = np.isfinite(ranges) & (ranges > rmin) & (ranges < rmax - 1e-6)
    forward = ranges * np.cos(angles) + teacher.sensor_offset_m
    lateral = ranges * np.sin(angles)
    hit = (
        valid
        & (forward > 0)
        & (forward < teacher.stop_distance_m)
        & (np.abs(lateral) < teacher.corridor_half_width_m + teacher.margin_m)
    )
    return int(hit.any())


def nearest(times: list[int], t: int) -> int | None:
    """Index of the time in sorted ``times`` closest to ``t`` (None when empty)."""
    if not times:
        return None
    i = bisect.bisect_left(times, t)
    candidates = [j for j in (i - 1, i) if 0 <= j < len(times)]
    return min(candidates, key=lambda j: abs(times[j] - t))
