"""Triage on real simulated logs, and on a log shaped like another team's robot."""

from __future__ import annotations

import numpy as np
import pytest
from mcap_ros2.writer import Writer

from robotops.policies.registry import bundled_policy, load_policy
from robotops.sim.episode import encode_jpeg, run_episode
from robotops.sim.recording.ros2_msgs import msgdef, schema_name
from robotops.sim.recording.writer import RobotLogWriter
from robotops.sim.world.specs import GlareHazard, ObstacleHazard, ShadowHazard, WorldSpec
from robotops.tools.triage.diagnose import diagnose_incident
from robotops.tools.triage.models import DiagnoseRequest

T0 = 1_800_000_000 * 10**9


def first_stall(world: WorldSpec, tmp_path, seconds: float = 30.0):
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
            w.write_message(
                "/amr07/lidar",
                scan,
                {
                    "header": header,
                    "angle_min": -1.0,
                    "angle_max": 1.0,
                    "angle_increment": 0.1,
                    "time_increment": 0.0,
                    "scan_time": 0.1,
                    "range_min": 0.1,
                    "range_max": 10.0,
                    "ranges": [6.0] * 21,
                    "intensities": [],
                },
                t,
            )
        w.finish()


def test_triage_finds_channels_by_type_not_topic_name(tmp_path):
    path = tmp_path / "amr07.mcap"
    _other_team_log(path, saturated=True)
    diagnosis = diagnose_incident(DiagnoseRequest(log_path=str(path), time_ns=T0 + 3 * 10**9))
    assert diagnosis.cause == "glare"
    assert {c.topic for c in diagnosis.citations} >= {"/amr07/front_cam/compressed", "/amr07/lidar"}
    assert "no cmd channel" in diagnosis.missing
