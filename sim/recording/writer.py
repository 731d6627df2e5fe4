"""Write one robot's run to an MCAP file: camera, range, odometry, commands, perception,
diagnostics and events, each on its conventional ROS 2 topic with the real ROS 2 schema.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from mcap.writer import CompressionType
from mcap_ros2.writer import Writer

from robotops.sim.recording.ros2_msgs import msgdef, schema_name

TOPICS = {
    "/camera/image/compressed": "sensor_msgs/CompressedImage",
    "/scan": "sensor_msgs/LaserScan",
    "/odom": "nav_msgs/Odometry",
    "/localization/pose": "geometry_msgs/PoseStamped",
    "/cmd_vel": "geometry_msgs/Twist",
    "/perception/obstacle": "robotops_msgs/ObstacleDetection",
    "/diagnostics": "diagnostic_msgs/DiagnosticArray",
    "/events": "robotops_msgs/Event",
}
ZERO_COV = [0.0] * 36


def _header(t_ns: int, frame: str) -> dict[str, Any]:
    return {
        "stamp": {"sec": t_ns // 1_000_000_000, "nanosec": t_ns % 1_000_000_000},
        "frame_id": frame,
    }


def _quat(yaw: float) -> dict[str, float]:
    return {"x": 0.0, "y": 0.0, "z": math.sin(yaw / 2), "w": math.cos(yaw / 2)}


class RobotLogWriter:
    """An MCAP log of one robot's shift. Use as a context manager; the file is valid on exit."""

    def __init__(self, path: Path, metadata: dict[str, str], chunk_size: int = 512 * 1024) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.path.with_suffix(".mcap.part")
        self._file = open(self._tmp, "wb")  # noqa: SIM115 - closed in close()
        self._writer = Writer(self._file, chunk_size=chunk_size, compression=CompressionType.ZSTD)
        self._schemas = {
            t: self._writer.register_msgdef(schema_name(m), msgdef(m)) for t, m in TOPICS.items()
        }
        self._seq: dict[str, int] = dict.fromkeys(TOPICS, 0)
        self._writer.add_metadata("robot", metadata)

    def __enter__(self) -> RobotLogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(keep=exc[0] is None)

    def close(self, keep: bool = True) -> None:
        """Finish the file; rename it into place only if the run completed."""
        self._writer.finish()
        self._file.close()
        if keep:
            self._tmp.replace(self.path)
        else:
            self._tmp.unlink(missing_ok=True)

    def _write(self, topic: str, t_ns: int, message: dict[str, Any]) -> None:
        self._seq[topic] += 1
        self._writer.write_message(
            topic, self._schemas[topic], message, t_ns, t_ns, self._seq[topic]
        )

    def image(self, t_ns: int, jpeg: bytes) -> None:
        self._write(
            "/camera/image/compressed",
            t_ns,
            {"header": _header(t_ns, "camera"), "format": "jpeg", "data": jpeg},
        )

    def scan(
        self, t_ns: int, ranges: list[float], angle_min: float, angle_max: float, range_max: float
    ) -> None:
        inc = (angle_max - angle_min) / max(len(ranges) - 1, 1)
        self._write(
            "/scan",
            t_ns,
            {
                "header": _header(t_ns, "laser"),
                "angle_min": angle_min,
                "angle_max": angle_max,
                "angle_increment": inc,
                "time_increment": 0.0,
                "scan_time": 0.1,
                "range_min": 0.05,
                "range_max": range_max,
                "ranges": ranges,
                "intensities": [],
            },
        )

    def odom(self, t_ns: int, x: float, y: float, yaw: float, v: float, w: float) -> None:
        self._write(
            "/odom",
            t_ns,
            {
                "header": _header(t_ns, "odom"),
                "child_frame_id": "base_link",
                "pose": {
                    "pose": {"position": {"x": x, "y": y, "z": 0.0}, "orientation": _quat(yaw)},
                    "covariance": ZERO_COV,
                },
                "twist": {
                    "twist": {
                        "linear": {"x": v, "y": 0.0, "z": 0.0},
                        "angular": {"x": 0.0, "y": 0.0, "z": w},
                    },
                    "covariance": ZERO_COV,
                },
            },
        )

    def pose(self, t_ns: int, x: float, y: float, yaw: float) -> None:
        self._write(
            "/localization/pose",
            t_ns,
            {
                "header": _header(t_ns, "map"),
                "pose": {"position": {"x": x, "y": y, "z": 0.0}, "orientation": _quat(yaw)},
            },
        )

    def cmd_vel(self, t_ns: int, v: float, w: float) -> None:
        self._write(
            "/cmd_vel",
            t_ns,
            {"linear": {"x": v, "y": 0.0, "z": 0.0}, "angular": {"x": 0.0, "y": 0.0, "z": w}},
        )

    def perception(self, t_ns: int, probability: float, obstacle: bool, model_version: str) -> None:
        self._write(
            "/perception/obstacle",
            t_ns,
            {
                "header": _header(t_ns, "camera"),
                "probability": probability,
                "obstacle": obstacle,
                "model_version": model_version,
            },
        )

    def diagnostics(
        self, t_ns: int, name: str, level: int, message: str, values: dict[str, str]
    ) -> None:
        self._write(
            "/diagnostics",
            t_ns,
            {
                "header": _header(t_ns, "base_link"),
                "status": [
                    {
                        "level": level,
                        "name": name,
                        "message": message,
                        "hardware_id": name,
                        "values": [{"key": k, "value": v} for k, v in values.items()],
                    }
                ],
            },
        )

    def event(
        self, t_ns: int, kind: str, severity: str, robot_id: str, zone: str, detail: str
    ) -> None:
        self._write(
            "/events",
            t_ns,
            {
                "header": _header(t_ns, "base_link"),
                "kind": kind,
                "severity": severity,
                "robot_id": robot_id,
                "zone": zone,
                "detail": detail,
            },
        )
