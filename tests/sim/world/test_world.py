"""The MuJoCo warehouse: physics that drives, sensors that see, hazards that act."""

from __future__ import annotations

import numpy as np
import pytest

from robotops.sim.world.simulator import WarehouseSim
from robotops.sim.world.specs import (
    GlareHazard,
    LatencyHazard,
    ObstacleHazard,
    OilHazard,
    ShadowHazard,
    WorldSpec,
)


def drive(sim: WarehouseSim, v: float, w: float, seconds: float) -> None:
    for _ in range(round(seconds / 0.05)):
        sim.command(v, w)
        sim.step(0.05)


def test_robot_drives_at_commanded_speed_on_a_dry_floor():
    sim = WarehouseSim(WorldSpec(aisle=1), seed=0)
    drive(sim, 1.0, 0.0, 3.0)
    state = sim.state()
    assert state.v == pytest.approx(1.0, abs=0.1)
    assert state.x > -16.0 + 2.5


def test_oil_patch_makes_the_wheels_slip():
    """On oil the encoders say the robot moves much more than it does."""
    dry = WarehouseSim(WorldSpec(aisle=1), seed=0)
    oily = WarehouseSim(
        WorldSpec(aisle=1, hazards=[OilHazard(x=-16.0, length=4.0, friction=0.02)]), seed=0
    )
    for sim in (dry, oily):
        drive(sim, 0.0, 1.2, 1.0)  # turn in place: traction matters
    assert oily.state().yaw < 0.6 * dry.state().yaw  # wheels spin, the robot barely turns
    assert abs(oily.wheel_speeds()[0]) > 2.0


def test_latency_delays_the_command():
    sim = WarehouseSim(WorldSpec(aisle=1, hazards=[LatencyHazard(latency_s=0.5)]), seed=0)
    drive(sim, 1.0, 0.0, 0.4)
    assert abs(sim.state().v) < 0.05
    drive(sim, 1.0, 0.0, 0.6)
    assert sim.state().v > 0.3


def test_camera_frame_shape_and_glare_saturates_it():
    clean = WarehouseSim(WorldSpec(aisle=1), seed=0)
    glare = WarehouseSim(WorldSpec(aisle=1, hazards=[GlareHazard(x=-1.0, intensity=1.4)]), seed=0)
    frames = []
    for sim in (clean, glare):
        sim.teleport((-4.0, -1.0, 0.0), {})
        frames.append(sim.camera())
    assert frames[0].shape == (96, 128, 3) and frames[0].dtype == np.uint8
    saturated = [(f.max(axis=2) >= 250).mean() for f in frames]
    assert saturated[1] > saturated[0] + 0.01
    assert glare.last_glare > 0.3 and "glare" in glare.hazards_acting()


def test_shadow_darkens_a_band_of_floor_only():
    clean = WarehouseSim(WorldSpec(aisle=1), seed=0)
    shadow = WarehouseSim(
        WorldSpec(aisle=1, hazards=[ShadowHazard(x=-2.0, width=1.0, contrast=0.9)]), seed=0
    )
    rows = []
    for sim in (clean, shadow):
        sim.teleport((-4.5, -1.0, 0.0), {})
        rows.append(sim.camera().astype(float).mean(axis=(1, 2)))
    diff = rows[0] - rows[1]
    assert diff.max() > 30  # a dark band
    assert np.median(np.abs(diff)) < 5  # the rest of the frame is lit the same


def test_range_sensor_sees_a_real_obstacle():
    sim = WarehouseSim(WorldSpec(aisle=1, hazards=[ObstacleHazard(x=-13.0, appear_s=0.0)]), seed=0)
    ranges = sim.ranges(noise_std=0.0)
    assert ranges[len(ranges) // 2] == pytest.approx(3.0 - 0.6 - 0.31, abs=0.1)
    assert "obstacle" in sim.hazards_acting()
