"""Logs of another team's ROS 2 robot, written with the mcap-ros2-support writer (not ours).

Robot ``amr-07``: its own topic names, standard message types only (TwistStamped, Odometry,
PoseWithCovarianceStamped, LaserScan, DiagnosticArray, rcl_interfaces/Log, std_msgs/Bool), and a
160x120 camera as PNG or JPEG CompressedImage or raw sensor_msgs/Image. A scenario says what
happens; the message definitions are the standard ROS 2 ones, written out here.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from mcap_ros2.writer import Writer
from PIL import Image

NS = 1_000_000_000
T0 = (1_800_000_000 // 86400 * 86400 + 12 * 3600) * NS  # 12:00:00 UTC on some day
W, H = 160, 120
SEP = "=" * 80

_BASE = {
    "builtin_interfaces/Time": "int32 sec\nuint32 nanosec",
    "std_msgs/Header": "builtin_interfaces/Time stamp\nstring frame_id",
    "geometry_msgs/Vector3": "float64 x\nfloat64 y\nfloat64 z",
    "geometry_msgs/Point": "float64 x\nfloat64 y\nfloat64 z",
    "geometry_msgs/Quaternion": "float64 x\nfloat64 y\nfloat64 z\nfloat64 w",
    "geometry_msgs/Pose": "geometry_msgs/Point position\ngeometry_msgs/Quaternion orientation",
    "geometry_msgs/PoseWithCovariance": "geometry_msgs/Pose pose\nfloat64[36] covariance",
    "geometry_msgs/Twist": "geometry_msgs/Vector3 linear\ngeometry_msgs/Vector3 angular",
    "geometry_msgs/TwistWithCovariance": "geometry_msgs/Twist twist\nfloat64[36] covariance",
    "diagnostic_msgs/KeyValue": "string key\nstring value",
    "diagnostic_msgs/DiagnosticStatus": (
        "byte OK=0\nbyte WARN=1\nbyte ERROR=2\nbyte STALE=3\nbyte level\nstring name\n"
        "string message\nstring hardware_id\ndiagnostic_msgs/KeyValue[] values"
    ),
}
_TOP = {
    "geometry_msgs/TwistStamped": "std_msgs/Header header\ngeometry_msgs/Twist twist",
    "nav_msgs/Odometry": (
        "std_msgs/Header header\nstring child_frame_id\ngeometry_msgs/PoseWithCovariance pose\n"
        "geometry_msgs/TwistWithCovariance twist"
    ),
    "geometry_msgs/PoseWithCovarianceStamped": (
        "std_msgs/Header header\ngeometry_msgs/PoseWithCovariance pose"
    ),
    "sensor_msgs/LaserScan": (
        "std_msgs/Header header\nfloat32 angle_min\nfloat32 angle_max\nfloat32 angle_increment\n"
        "float32 time_increment\nfloat32 scan_time\nfloat32 range_min\nfloat32 range_max\n"
        "float32[] ranges\nfloat32[] intensities"
    ),
    "sensor_msgs/CompressedImage": "std_msgs/Header header\nstring format\nuint8[] data",
    "sensor_msgs/Image": (
        "std_msgs/Header header\nuint32 height\nuint32 width\nstring encoding\n"
        "uint8 is_bigendian\nuint32 step\nuint8[] data"
    ),
    "diagnostic_msgs/DiagnosticArray": (
        "std_msgs/Header header\ndiagnostic_msgs/DiagnosticStatus[] status"
    ),
    "rcl_interfaces/Log": (
        "byte DEBUG=10\nbyte INFO=20\nbyte WARN=30\nbyte ERROR=40\nbyte FATAL=50\n"
        "builtin_interfaces/Time stamp\nuint8 level\nstring name\nstring msg\nstring file\n"
        "string function\nuint32 line"
    ),
    "std_msgs/Bool": "bool data",
}


def msgdef(name: str) -> str:
    """The ROS 2 msgdef text of a standard type with every type it uses appended."""
    text = _TOP.get(name) or _BASE[name]
    seen: list[str] = []
    _deps(text, seen)
    return "\n".join([text] + [f"{SEP}\nMSG: {d}\n{_BASE[d]}" for d in seen])


def _deps(text: str, seen: list[str]) -> None:
    for line in text.splitlines():
        first = line.split()[0].split("[")[0] if line.strip() else ""
        if "/" in first and first not in seen:
            seen.append(first)
            _deps(_BASE[first], seen)


@dataclass(frozen=True)
class Scenario:
    """What happens on the robot. ``cause`` is what a triage should say (the truth)."""

    scene: str = "plain"  # plain, glare, shadow, spill, pallet (what the camera sees)
    motion: str = "stall"  # stall, stall_cmd_stops, oscillation, slip, estop, drive
    camera: str = "png"  # png, jpeg, raw, none
    scan: bool = True
    stop_s: float = 6.0  # the robot stops at this time
    seconds: float = 12.0
    hz: int = 20
    camera_hz: int = 10
    metadata_robot: bool = False  # name the robot in MCAP metadata (else only the file name)
    diagnostics: bool = True
    brightness: float = 1.0  # overall exposure of this team's camera


TOPICS = {
    "cmd": ("/amr07/nav/cmd_vel_stamped", "geometry_msgs/TwistStamped"),
    "odom": ("/amr07/base/odometry", "nav_msgs/Odometry"),
    "pose": ("/amr07/localization/amcl_pose", "geometry_msgs/PoseWithCovarianceStamped"),
    "scan": ("/amr07/sensors/front_lidar", "sensor_msgs/LaserScan"),
    "diag": ("/diagnostics_agg", "diagnostic_msgs/DiagnosticArray"),
    "log": ("/rosout", "rcl_interfaces/Log"),
    "estop": ("/amr07/safety/estop_engaged", "std_msgs/Bool"),
}
CAMERA = {
    "png": ("/amr07/cam_front/image/compressed", "sensor_msgs/CompressedImage"),
    "jpeg": ("/amr07/cam_front/image/compressed", "sensor_msgs/CompressedImage"),
    "raw": ("/amr07/cam_front/image_raw", "sensor_msgs/Image"),
}


def frame(scene: str, after_stop: bool, brightness: float, rng: np.random.Generator) -> np.ndarray:
    """A 160x120 RGB view of a floor; the scene's hazard shows once the robot nears it."""
    img = np.zeros((H, W, 3), np.float32)
    img[:45] = (60, 62, 80)
    img[45:] = np.linspace(110, 160, H - 45)[:, None, None] * np.ones((1, W, 3))
    img *= brightness
    if after_stop:
        if scene == "glare":
            img[30:70, 50:120] = 255
        elif scene == "shadow":
            img[70:84] *= 0.4
        elif scene == "spill":
            img[80:] = (25, 26, 32)
        elif scene == "pallet":
            img[55:95, 60:100] = (120, 80, 40)
    img += rng.normal(0, 2.0, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _header(t: int, frame_id: str = "base_link") -> dict:
    return {"stamp": {"sec": t // NS, "nanosec": t % NS}, "frame_id": frame_id}


def _twist(v: float, w: float) -> dict:
    return {"linear": {"x": v, "y": 0.0, "z": 0.0}, "angular": {"x": 0.0, "y": 0.0, "z": w}}


def _pose(x: float, y: float) -> dict:
    return {
        "position": {"x": x, "y": y, "z": 0.0},
        "orientation": {"x": 0.0, "y": 0.0, "z": 0.0, "w": 1.0},
    }


def _motion(s: Scenario, ts: float) -> tuple[float, float, float, float]:
    """Commanded v, w; wheel speed; true speed."""
    moving = ts < s.stop_s
    if s.motion == "stall":  # the planner keeps commanding, the robot does not move
        return 0.8, 0.0, (0.8 if moving else 0.0), (0.8 if moving else 0.0)
    if s.motion in ("stall_cmd_stops", "estop"):
        v = 0.8 if moving else 0.0
        return v, 0.0, v, v
    if s.motion == "oscillation":
        w = 0.6 if int(ts * 2) % 2 == 0 else -0.6
        return 0.4, (w if ts >= s.stop_s else 0.0), 0.4, 0.4
    if s.motion == "slip":  # wheels turn, the robot hardly moves
        return 0.8, 0.0, 0.8, (0.8 if moving else 0.1)
    return 0.8, 0.0, 0.8, 0.8


def _image_msg(kind: str, header: dict, rgb: np.ndarray) -> dict:
    if kind == "raw":
        return {
            "header": header,
            "height": H,
            "width": W,
            "encoding": "rgb8",
            "is_bigendian": 0,
            "step": W * 3,
            "data": rgb.tobytes(),
        }
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG" if kind == "png" else "JPEG", quality=90)
    return {"header": header, "format": kind, "data": buf.getvalue()}


def _scan(header: dict, blocked: bool, rng: np.random.Generator) -> dict:
    ranges = [
        float((0.8 if blocked and 8 <= k <= 12 else 7.5) + rng.normal(0, 0.01)) for k in range(21)
    ]
    return {
        "header": header,
        "angle_min": -1.0,
        "angle_max": 1.0,
        "angle_increment": 0.1,
        "time_increment": 0.0,
        "scan_time": 0.1,
        "range_min": 0.1,
        "range_max": 12.0,
        "ranges": ranges,
        "intensities": [],
    }


def write_foreign_log(path: Path, s: Scenario = Scenario()) -> int:
    """Write the scenario as an MCAP at ``path``; returns the time the robot stopped (ns)."""
    rng = np.random.default_rng(7)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        w = Writer(f)
        if s.metadata_robot:
            w._writer.add_metadata("vehicle", {"vehicle_id": "amr-07", "fleet": "acme"})
        topics = dict(TOPICS)
        if s.camera != "none":
            topics["camera"] = CAMERA[s.camera]
        if not s.scan:
            topics.pop("scan")
        ids = {role: w.register_msgdef(t, msgdef(t)) for role, (_, t) in topics.items()}
        x = 0.0
        diag_sent = log_sent = False
        for i in range(int(s.seconds * s.hz) + 1):
            t, ts = T0 + i * NS // s.hz, i / s.hz
            after = ts >= s.stop_s - 0.5
            v_cmd, w_cmd, v_wheel, v_true = _motion(s, ts)
            x += v_true / s.hz
            x_wheel = x if s.motion != "slip" else ts * v_wheel
            hdr = _header(t)
            out: dict[str, dict] = {
                "cmd": {"header": hdr, "twist": _twist(v_cmd, w_cmd)},
                "odom": {
                    "header": _header(t, "odom"),
                    "child_frame_id": "base_link",
                    "pose": {"pose": _pose(x_wheel, 0.0), "covariance": [0.0] * 36},
                    "twist": {"twist": _twist(v_wheel, w_cmd), "covariance": [0.0] * 36},
                },
            }
            if i % max(1, s.hz // 5) == 0:
                out["pose"] = {
                    "header": _header(t, "map"),
                    "pose": {"pose": _pose(x, 0.0), "covariance": [0.0] * 36},
                }
            if "scan" in topics and i % max(1, s.hz // 10) == 0:
                out["scan"] = _scan(hdr, s.scene == "pallet" and after, rng)
            if "camera" in topics and i % max(1, s.hz // s.camera_hz) == 0:
                img = frame(s.scene, after, s.brightness, rng)
                out["camera"] = _image_msg(s.camera, hdr, img)
            if s.motion == "estop" and i % max(1, s.hz // 5) == 0:
                out["estop"] = {"data": ts >= s.stop_s}
            if s.diagnostics and not diag_sent and ts >= s.stop_s + 0.5 and s.motion == "stall":
                diag_sent = True
                out["diag"] = {
                    "header": hdr,
                    "status": [
                        {
                            "level": 2,
                            "name": "amr07/navigation",
                            "message": "goal blocked: obstacle in path",
                            "hardware_id": "amr-07",
                            "values": [],
                        }
                    ],
                }
            if not log_sent and s.motion == "stall" and ts >= s.stop_s + 1.0:
                log_sent = True
                out["log"] = {
                    "stamp": hdr["stamp"],
                    "level": 40,
                    "name": "amr07.planner",
                    "msg": "progress checker: robot not moving",
                    "file": "planner.cpp",
                    "function": "check",
                    "line": 12,
                }
            for role, msg in out.items():
                if role in ids:
                    w.write_message(topics[role][0], ids[role], msg, t, t)
        w.finish()
    return T0 + int(s.stop_s * NS)


def clock(t_ns: int) -> str:
    """HH:MM:SS (UTC) of a log time."""
    secs = t_ns // NS
    return f"{secs // 3600 % 24:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"


__all__ = ["Scenario", "T0", "NS", "write_foreign_log", "clock", "math"]
