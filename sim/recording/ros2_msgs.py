"""ROS 2 message definitions the simulated robots log with, in MCAP's ``ros2msg`` schema form.

Standard messages (sensor_msgs, nav_msgs, geometry_msgs, diagnostic_msgs) are written exactly as
ROS 2 defines them so any ROS tool or Foxglove decodes them; two small robotops messages carry
perception outputs and robot events.
"""

from __future__ import annotations

import re

SEPARATOR = "=" * 80

DEFINITIONS: dict[str, str] = {
    "builtin_interfaces/Time": "int32 sec\nuint32 nanosec",
    "std_msgs/Header": "builtin_interfaces/Time stamp\nstring frame_id",
    "geometry_msgs/Vector3": "float64 x\nfloat64 y\nfloat64 z",
    "geometry_msgs/Point": "float64 x\nfloat64 y\nfloat64 z",
    "geometry_msgs/Quaternion": "float64 x\nfloat64 y\nfloat64 z\nfloat64 w",
    "geometry_msgs/Pose": "geometry_msgs/Point position\ngeometry_msgs/Quaternion orientation",
    "geometry_msgs/PoseWithCovariance": "geometry_msgs/Pose pose\nfloat64[36] covariance",
    "geometry_msgs/Twist": "geometry_msgs/Vector3 linear\ngeometry_msgs/Vector3 angular",
    "geometry_msgs/TwistWithCovariance": "geometry_msgs/Twist twist\nfloat64[36] covariance",
    "geometry_msgs/PoseStamped": "std_msgs/Header header\ngeometry_msgs/Pose pose",
    "nav_msgs/Odometry": (
        "std_msgs/Header header\nstring child_frame_id\n"
        "geometry_msgs/PoseWithCovariance pose\ngeometry_msgs/TwistWithCovariance twist"
    ),
    "sensor_msgs/CompressedImage": "std_msgs/Header header\nstring format\nuint8[] data",
    "sensor_msgs/LaserScan": (
        "std_msgs/Header header\nfloat32 angle_min\nfloat32 angle_max\nfloat32 angle_increment\n"
        "float32 time_increment\nfloat32 scan_time\nfloat32 range_min\nfloat32 range_max\n"
        "float32[] ranges\nfloat32[] intensities"
    ),
    "diagnostic_msgs/KeyValue": "string key\nstring value",
    "diagnostic_msgs/DiagnosticStatus": (
        "byte OK=0\nbyte WARN=1\nbyte ERROR=2\nbyte STALE=3\nbyte level\nstring name\n"
        "string message\nstring hardware_id\ndiagnostic_msgs/KeyValue[] values"
    ),
    "diagnostic_msgs/DiagnosticArray": (
        "std_msgs/Header header\ndiagnostic_msgs/DiagnosticStatus[] status"
    ),
    "robotops_msgs/ObstacleDetection": (
        "std_msgs/Header header\nfloat32 probability\nbool obstacle\nstring model_version"
    ),
    "robotops_msgs/Event": (
        "std_msgs/Header header\nstring kind\nstring severity\nstring robot_id\nstring zone\n"
        "string detail"
    ),
}

_TYPE_RE = re.compile(r"^([a-z_]+/[A-Za-z0-9]+)(\[\d*\])?\s")


def _dependencies(name: str, seen: list[str]) -> list[str]:
    for line in DEFINITIONS[name].splitlines():
        match = _TYPE_RE.match(line)
        if match and match.group(1) not in seen:
            seen.append(match.group(1))
            _dependencies(match.group(1), seen)
    return seen


def msgdef(name: str) -> str:
    """The full ``ros2msg`` text of ``name`` (e.g. ``sensor_msgs/LaserScan``) with dependencies."""
    parts = [DEFINITIONS[name]]
    for dep in _dependencies(name, []):
        parts.append(f"{SEPARATOR}\nMSG: {dep}\n{DEFINITIONS[dep]}")
    return "\n".join(parts)


def schema_name(name: str) -> str:
    """ROS 2 spells schema names with ``/msg/`` in MCAP files."""
    package, msg = name.split("/")
    return f"{package}/msg/{msg}"
