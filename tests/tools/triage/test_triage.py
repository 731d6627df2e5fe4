"""Triage on real simulated logs, and on logs shaped like another team's robot."""

from __future__ import annotations

import numpy as np
import pytest
from mcap.reader import make_reader
from mcap_ros2.writer import Writer
from rosbags.rosbag2 import Writer as Bag2Writer
from rosbags.typesys import Stores, get_typestore

from robotops.errors import LogFormatError
from robotops.evals.triage import TriageCase, score
from robotops.policies.registry import bundled_policy, load_policy
from robotops.sim.episode import encode_jpeg, run_episode
from robotops.sim.recording.ros2_msgs import DEFINITIONS, SEPARATOR, msgdef, schema_name
from robotops.sim.recording.writer import RobotLogWriter
from robotops.sim.world.specs import GlareHazard, ObstacleHazard, ShadowHazard, WorldSpec
from robotops.tools.triage.diagnose import (
    GLARE_SATURATION,
    SHADOW_BAND,
    SPILL_BAND,
    diagnose_incident,
)
from robotops.tools.triage.models import DiagnoseRequest
from robotops.tools.triage.signals import dark_band, response_lag, saturation, slip_fraction
from robotops.tools.triage.window import read_window

T0 = 1_800_000_000 * 10**9


def first_stall(world: WorldSpec, tmp_path, seconds: float = 10.0):  # first stalls by ~7.5 s
    perception, card = load_policy(bundled_policy("v1"))
    path = tmp_path / "log.mcap"
    with RobotLogWriter(path, {"robot_id": "t"}) as rec:
        result = run_episode(
            world,
            perception,
            seed=2,
            duration_s=seconds,
            start_ns=T0,
            controller=card.controller,
            recorder=rec,
        )
    stall = next(i for i in result.incidents if i.kind == "stall")
    return path, T0 + round(stall.t * 1e9)


@pytest.mark.parametrize(
    ("hazard", "expected"),
    [
        (GlareHazard(x=-8.0, intensity=1.4), "glare"),
        (ShadowHazard(x=-8.0, width=2.0, contrast=0.9), "shadow"),
        (ObstacleHazard(x=-12.0, appear_s=0.0, duration_s=60.0), "real_obstacle"),
    ],
    ids=["glare", "shadow", "pallet"],
)
def test_triage_names_the_cause_of_a_simulated_stall(hazard, expected, tmp_path):
    path, t_ns = first_stall(WorldSpec(aisle=1, hazards=[hazard]), tmp_path)
    diagnosis = diagnose_incident(
        DiagnoseRequest(log_path=str(path), time_ns=t_ns, frames_dir=str(tmp_path / "frames"))
    )
    assert diagnosis.cause == expected, diagnosis.summary
    assert diagnosis.citations and all(c.log == str(path) for c in diagnosis.citations)
    assert any(c.frame_path for c in diagnosis.citations)


def _other_team_log(path, saturated: bool) -> None:
    """Standard ROS 2 types under unfamiliar topic names, no perception or event channels."""
    with open(path, "wb") as f:
        w = Writer(f)
        img = w.register_msgdef(
            schema_name("sensor_msgs/CompressedImage"), msgdef("sensor_msgs/CompressedImage")
        )
        scan = w.register_msgdef(
            schema_name("sensor_msgs/LaserScan"), msgdef("sensor_msgs/LaserScan")
        )
        frame = np.full((96, 128, 3), 110, np.uint8)
        if saturated:
            frame[20:60, 40:90] = 255
        for i in range(20):
            t = T0 + i * 200_000_000
            header = {"stamp": {"sec": t // 10**9, "nanosec": t % 10**9}, "frame_id": "cam"}
            w.write_message(
                "/amr07/front_cam/compressed",
                img,
                {"header": header, "format": "jpeg", "data": encode_jpeg(frame)},
                t,
            )
            w.write_message("/amr07/lidar", scan, _scan(header, blocked=False), t)
        w.finish()


def test_triage_finds_channels_by_type_not_topic_name(tmp_path):
    path = tmp_path / "amr07.mcap"
    _other_team_log(path, saturated=True)
    diagnosis = diagnose_incident(DiagnoseRequest(log_path=str(path), time_ns=T0 + 3 * 10**9))
    assert diagnosis.cause == "glare"
    assert {c.topic for c in diagnosis.citations} >= {"/amr07/front_cam/compressed", "/amr07/lidar"}
    assert "no cmd channel" in diagnosis.missing


# -- another team's robot: raw images, TwistStamped, its own topic names, no perception ------

STANDARD = {
    "sensor_msgs/Image": (
        "std_msgs/Header header\nuint32 height\nuint32 width\nstring encoding\n"
        "uint8 is_bigendian\nuint32 step\nuint8[] data"
    ),
    "geometry_msgs/TwistStamped": "std_msgs/Header header\ngeometry_msgs/Twist twist",
}
HZ = 20
H, W = 96, 128


def _def(name: str) -> str:
    """msgdef text for a standard type, including the few this project does not log itself."""
    if name not in STANDARD:
        return msgdef(name)
    deps = {
        "sensor_msgs/Image": ["std_msgs/Header", "builtin_interfaces/Time"],
        "geometry_msgs/TwistStamped": [
            "std_msgs/Header",
            "builtin_interfaces/Time",
            "geometry_msgs/Twist",
            "geometry_msgs/Vector3",
        ],
    }[name]
    return "\n".join([STANDARD[name]] + [f"{SEPARATOR}\nMSG: {d}\n{DEFINITIONS[d]}" for d in deps])


def floor_frame(kind: str) -> np.ndarray:
    """A warehouse-like frame: dark shelves above the horizon (row 36), grey floor below that
    brightens toward the robot, plus what ``kind`` puts in view."""
    img = np.zeros((H, W, 3), np.float32)
    img[:36] = (20, 22, 45)
    rows = np.linspace(90, 135, H - 36)[:, None, None]
    img[36:] = rows * np.ones((1, W, 3))
    if kind == "far_shadow":  # a thin line across the floor near the horizon
        img[38] *= 0.45
    elif kind == "near_shadow":
        img[52:60] *= 0.45
    elif kind == "spill":  # very dark, slightly blue, up to the robot
        img[62:] = (30, 31, 38)
    elif kind == "glare":
        img *= 0.6
        img[30:40, 58:70] = 255
        img[34:36, 20:110] = 255
    elif kind == "pallet":
        img[44:70, 48:84] = (120, 80, 40)
    return np.clip(img + np.random.default_rng(0).normal(0, 2, img.shape), 0, 255).astype(np.uint8)


def _motion(kind: str, t: float) -> tuple[float, float, float, float, float]:
    """Commanded v, w; measured (wheel odometry) v, w; true speed along x."""
    if kind == "oil":  # wheels turn at full speed, the robot barely moves
        return 1.0, 0.0, 1.0, 0.0, 0.15
    if kind == "latency":  # the measured turn follows the command 0.9 s late
        w_cmd, w_meas = 0.8 * np.sin(2 * np.pi * t / 3), 0.8 * np.sin(2 * np.pi * (t - 0.9) / 3)
        return 0.5, float(w_cmd), 0.5, float(w_meas), 0.5
    v = 1.0 if t < 3.0 else 0.0  # drive, then stop for whatever the camera saw
    return v, 0.0, v, 0.0, v


def _twist(v: float, w: float) -> dict:
    return {"linear": {"x": v, "y": 0.0, "z": 0.0}, "angular": {"x": 0.0, "y": 0.0, "z": w}}


def _pose(x: float) -> dict:
    q = {"x": 0.0, "y": 0.0, "z": 0.0, "w": 1.0}
    return {"position": {"x": x, "y": 0.0, "z": 0.0}, "orientation": q}


def _scan(header: dict, blocked: bool) -> dict:
    ranges = [0.9 if blocked and abs(k - 10) <= 2 else 6.0 for k in range(21)]
    return {
        "header": header,
        "angle_min": -1.0,
        "angle_max": 1.0,
        "angle_increment": 0.1,
        "time_increment": 0.0,
        "scan_time": 0.1,
        "range_min": 0.1,
        "range_max": 10.0,
        "ranges": ranges,
        "intensities": [],
    }


def _image(header: dict, bgr: np.ndarray) -> dict:
    return {
        "header": header,
        "height": H,
        "width": W,
        "encoding": "bgr8",
        "is_bigendian": 0,
        "step": W * 3,
        "data": bgr.tobytes(),
    }


TOPICS = {  # another team's names for standard types
    "/amr07/drive/cmd": "geometry_msgs/TwistStamped",
    "/amr07/wheel_odom": "nav_msgs/Odometry",
    "/amr07/amcl_pose": "geometry_msgs/PoseStamped",
    "/amr07/lidar_front": "sensor_msgs/LaserScan",
    "/amr07/front_cam/image_raw": "sensor_msgs/Image",
}


def write_other_team_log(path, scene: str, motion: str, seconds: float = 8.0) -> int:
    """An MCAP shaped like another team's robot; returns the incident time (the log's end)."""
    bgr = floor_frame(scene)[..., ::-1].copy()  # bgr8, as many camera drivers publish
    with open(path, "wb") as f:
        w = Writer(f)
        ids = {topic: w.register_msgdef(schema_name(t), _def(t)) for topic, t in TOPICS.items()}
        x = 0.0
        for i in range(int(seconds * HZ) + 1):
            t, ts = T0 + i * 10**9 // HZ, i / HZ
            header = {"stamp": {"sec": t // 10**9, "nanosec": t % 10**9}, "frame_id": "base"}
            v_cmd, w_cmd, v_meas, w_meas, v_true = _motion(motion, ts)
            x += v_true / HZ
            out = {
                "/amr07/drive/cmd": {"header": header, "twist": _twist(v_cmd, w_cmd)},
                "/amr07/wheel_odom": {
                    "header": header,
                    "child_frame_id": "base",
                    "pose": {"pose": _pose(x), "covariance": [0.0] * 36},
                    "twist": {"twist": _twist(v_meas, w_meas), "covariance": [0.0] * 36},
                },
            }
            if i % 2 == 0:
                out["/amr07/amcl_pose"] = {"header": header, "pose": _pose(x)}
                out["/amr07/lidar_front"] = _scan(header, scene == "pallet" and ts >= 2.0)
            if i % 4 == 0:
                out["/amr07/front_cam/image_raw"] = _image(header, bgr)
            for topic, msg in out.items():
                w.write_message(topic, ids[topic], msg, t)
        w.finish()
    return T0 + int(seconds * 10**9)


@pytest.mark.parametrize(
    ("scene", "motion", "kind", "expected"),
    [
        ("far_shadow", "stop", "stall", "shadow"),
        ("near_shadow", "stop", "stall", "shadow"),
        ("glare", "stop", "stall", "glare"),
        ("pallet", "stop", "stall", "real_obstacle"),
        ("spill", "stop", "stall", "oil"),
        ("plain", "oil", "nav_error", "oil"),
        ("plain", "latency", "nav_error", "latency"),
        ("plain", "stop", "stall", "unknown"),
    ],
)
def test_triage_on_another_teams_robot(scene, motion, kind, expected, tmp_path):
    path = tmp_path / "amr07.mcap"
    t_ns = write_other_team_log(path, scene, motion)
    d = diagnose_incident(DiagnoseRequest(log_path=str(path), time_ns=t_ns, kind=kind))
    assert d.cause == expected, d.summary
    assert not d.missing
    topics = {c.topic for c in d.citations}
    assert {"/amr07/front_cam/image_raw", "/amr07/lidar_front", "/amr07/drive/cmd"} <= topics


@pytest.mark.parametrize(
    ("scene", "low", "high"),
    [
        ("plain", 0.0, 0.15),
        ("pallet", 0.0, 0.15),  # an object does not span the floor's width
        ("far_shadow", SHADOW_BAND, SPILL_BAND),
        ("near_shadow", SHADOW_BAND, SPILL_BAND),
        ("spill", SPILL_BAND, 1.0),
    ],
)
def test_dark_band_tells_shadow_from_spill_from_object(scene, low, high):
    depth, _tint, row = dark_band(floor_frame(scene))
    assert low <= depth < high, (scene, depth, row)


def test_saturation_sees_glare_not_a_dark_floor():
    assert saturation(floor_frame("glare")) > GLARE_SATURATION
    assert saturation(floor_frame("near_shadow")) == 0.0


def test_response_lag_and_slip_measure_the_drive(tmp_path):
    late = tmp_path / "late.mcap"
    write_other_team_log(late, "plain", "latency")
    slippery = tmp_path / "oil.mcap"
    write_other_team_log(slippery, "plain", "oil")
    win = read_window(str(late), 0, T0 + 10**11)
    lag, corr = response_lag(win.messages["cmd"], win.messages["odom"])
    assert lag == pytest.approx(0.9, abs=0.1) and corr > 0.9
    assert slip_fraction(win.messages["odom"], win.messages["pose"]) < 0.1
    win = read_window(str(slippery), 0, T0 + 10**11)
    assert slip_fraction(win.messages["odom"], win.messages["pose"]) > 0.8


def _case(truth: str, named: str, acting: list[str]) -> TriageCase:
    return TriageCase(
        split="held_out",
        seed=9,
        incident_id=f"{truth}-{named}-{len(acting)}",
        kind="stall",
        truth=truth,
        hazards_acting=acting,
        named=named,
        confidence=0.5,
        latency_s=0.1,
        cpu_s=0.1,
    )


def test_eval_scores_per_cause_and_reports_unattributable_incidents_apart():
    cases = [
        _case("glare", "glare", ["glare"]),
        _case("glare", "shadow", ["glare", "latency"]),
        _case("shadow", "shadow", ["shadow"]),
        _case("unknown", "real_obstacle", []),
    ]
    s = score([9], cases)
    assert s.incidents == 4 and s.accuracy == pytest.approx(0.5)
    assert s.attributable == 3 and s.accuracy_attributable == pytest.approx(2 / 3)
    assert s.per_cause == {"glare": (1, 2), "shadow": (1, 1), "unknown": (0, 1)}
    assert s.confusion["glare"] == {"glare": 1, "shadow": 1}
    assert s.mixed == (0, 1)
    assert score([], []) is None


def test_triage_reads_a_ros2_bag_as_well_as_mcap(tmp_path):
    """The same robot's data recorded as a ROS 2 sqlite bag instead of MCAP."""
    source = tmp_path / "amr07.mcap"
    t_ns = write_other_team_log(source, "near_shadow", "stop")
    store = get_typestore(Stores.ROS2_HUMBLE)
    bag = tmp_path / "amr07_bag"
    with Bag2Writer(bag, version=9) as writer, open(source, "rb") as f:
        conns = {
            topic: writer.add_connection(topic, schema_name(t), typestore=store)
            for topic, t in TOPICS.items()
        }
        for _, channel, message in make_reader(f).iter_messages():
            writer.write(conns[channel.topic], message.log_time, message.data)
    d = diagnose_incident(DiagnoseRequest(log_path=str(bag), time_ns=t_ns))
    assert d.cause == "shadow", d.summary
    assert "/amr07/front_cam/image_raw" in {c.topic for c in d.citations}


def test_a_truncated_log_is_a_log_format_error_not_a_crash(tmp_path):
    path = tmp_path / "amr07.mcap"
    _other_team_log(path, saturated=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(LogFormatError):
        read_window(str(path), T0, T0 + 3 * 10**9)
