"""Per-robot, per-shift metrics as the simulated robots would report them to a fleet manager.

Every figure comes from what the robot itself knows: its event counters (stalls, e-stops,
collisions, missions, from the shift summary the fleet keeps), its odometry, and its log. A
phantom stop is a stop (commanded velocity zero) begun while the robot's own range scan showed
nothing within :data:`PATH_CLEAR_M` ahead; ``ground_truth.json`` is never read here.

Metrics are computed once per shift and cached in ``DIR/metrics/<shift_id>.json``; a test may
write that file itself to set what the robots "reported".
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
from pydantic import TypeAdapter

from robotops.errors import LogFormatError
from robotops.sim.fleet.models import RobotShiftMetrics
from robotops.sim.fleet.state import FleetStore, ShiftRecord, write_json_atomic

PATH_CLEAR_M = 4.0
FRONT_SECTOR_RAD = math.radians(15)
_METRICS = TypeAdapter(list[RobotShiftMetrics])


def metrics_path(root: Path, shift_id: str) -> Path:
    return Path(root) / "metrics" / f"{shift_id}.json"


def write_shift_metrics(root: Path, shift_id: str, rows: list[RobotShiftMetrics]) -> None:
    path = metrics_path(root, shift_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, [r.model_dump(mode="json") for r in rows])


def shift_metrics(store: FleetStore, shift: ShiftRecord) -> list[RobotShiftMetrics]:
    """The robots' reports for ``shift``: from the cache, else computed from summary and logs."""
    path = metrics_path(store.root, shift.shift_id)
    if path.exists():
        return _METRICS.validate_json(path.read_text())
    rows = _compute(store, shift)
    write_shift_metrics(store.root, shift.shift_id, rows)
    return rows


def _compute(store: FleetStore, shift: ShiftRecord) -> list[RobotShiftMetrics]:
    summary_path = store.root / "shifts" / f"{shift.shift_id}.json"
    if not summary_path.exists():
        raise LogFormatError(
            str(summary_path), f"shift {shift.shift_id} has no summary; the shift did not finish"
        )
    per_robot = json.loads(summary_path.read_text())["per_robot"]
    rows = []
    for robot_id, log_name in sorted(shift.logs.items()):
        counters = per_robot.get(robot_id, {})
        log = store.log_dir(robot_id) / log_name
        meta, phantom = read_robot_log(log)
        rows.append(
            RobotShiftMetrics(
                shift_id=shift.shift_id,
                robot_id=robot_id,
                zone=meta.get("zone", ""),
                policy_version=meta.get("policy_version", ""),
                hours=shift.duration_s / 3600.0,
                missions=int(counters.get("missions", 0)),
                stalls=int(counters.get("stalls", 0)),
                stall_time_s=float(counters.get("stall_time_s", 0.0)),
                phantom_stops=phantom,
                estops=int(counters.get("estops", 0)),
                collisions=int(counters.get("collisions", 0)),
                distance_m=float(counters.get("distance_m", 0.0)),
            )
        )
    return rows


def read_robot_log(path: Path) -> tuple[dict[str, str], int]:
    """The log's robot metadata and its count of stops begun with a clear scan ahead."""
    meta: dict[str, str] = {}
    front = math.inf
    stopped, phantom = False, 0
    try:
        with open(path, "rb") as stream:
            reader = make_reader(stream, decoder_factories=[DecoderFactory()])
            for record in reader.iter_metadata():
                if record.name == "robot":
                    meta = dict(record.metadata)
            for _, channel, _, msg in reader.iter_decoded_messages(
                topics=["/scan", "/cmd_vel"], log_time_order=True
            ):
                if channel.topic == "/scan":
                    front = _front_range(msg)
                    continue
                now = msg.linear.x == 0.0 and msg.angular.z == 0.0
                if now and not stopped and front > PATH_CLEAR_M:
                    phantom += 1
                stopped = now
    except (OSError, ValueError) as exc:
        raise LogFormatError(str(path), f"cannot read the robot's log: {exc}") from exc
    return meta, phantom


def _front_range(scan: object) -> float:
    """Closest return within the front sector of a LaserScan."""
    ranges = list(scan.ranges)  # type: ignore[attr-defined]
    if not ranges:
        return math.inf
    a0, inc = scan.angle_min, scan.angle_increment  # type: ignore[attr-defined]
    front = [r for i, r in enumerate(ranges) if abs(a0 + i * inc) <= FRONT_SECTOR_RAD]
    return min(front or ranges)
