"""Build the MJCF (MuJoCo XML) of a warehouse world from a :class:`WorldSpec`.

One world holds one robot with its aisle: shelving rows, lights, forklifts and workers as
kinematic (mocap) bodies, pallets as real obstacles, and the hazards as physical things:
an oil patch with its own friction, an overhead beam whose hard shadow crosses the aisle, a
worker whose vest carries retro-reflective strips.
"""

from __future__ import annotations

import math

from robotops.sim.world.specs import (
    AISLE_CENTERS_Y,
    AISLE_HALF_WIDTH,
    LANE_OFFSET,
    SHELF_LENGTH,
    GlareHazard,
    ObstacleHazard,
    OilHazard,
    ShadowHazard,
    WorldSpec,
)

WHEEL_RADIUS = 0.1
WHEEL_BASE = 0.5
RANGE_BEAMS = 15
RANGE_FOV_DEG = 120.0
CAMERA_TILT_DEG = 12.0
PARKED = (0.0, 60.0, -5.0)  # where hidden mocap actors wait, far from every lane

HEADER = """<mujoco model="warehouse">
  <option timestep="{dt}" integrator="implicitfast"/>
  <statistic extent="20" center="0 0 1"/>  <!-- fixed, so clip planes are 5 cm / 80 m -->
  <visual>
    <headlight ambient="0.35 0.35 0.35" diffuse="0.25 0.25 0.25" specular="0.05 0.05 0.05"/>
    <quality shadowsize="1024" offsamples="{msaa}"/>
    <map znear="0.0025" zfar="4" shadowclip="1.2"/>
    <global offwidth="{width}" offheight="{height}"/>
  </visual>
  <asset>
    <texture name="concrete" type="2d" builtin="checker" rgb1=".55 .55 .53" rgb2=".5 .5 .48"
      width="64" height="64"/>
    <material name="floor" texture="concrete" texrepeat="40 40" reflectance="0.05"/>
    <material name="shelf" rgba=".12 .22 .55 1"/>
    <material name="beam" rgba=".85 .45 .1 1"/>
    <material name="carton" rgba=".65 .5 .32 1"/>
    <material name="pallet" rgba=".35 .22 .12 1"/>
    <material name="forklift" rgba=".95 .75 .05 1"/>
    <material name="person" rgba=".2 .25 .35 1"/>
    <material name="vest" rgba=".95 .55 .1 1"/>
    <material name="reflector" rgba=".9 .9 .85 1" specular="1" shininess="1" emission="0.3"/>
    <material name="oil" rgba=".12 .12 .14 1" specular="0.8" shininess="0.9" reflectance="0.3"/>
    <material name="robot" rgba=".8 .8 .82 1"/>
  </asset>
  <worldbody>
    <geom name="floor" type="plane" size="30 20 0.1" material="floor" friction="1 0.005 0.0001"/>
"""
SKY_LIGHT = 0.45
FILL_LIGHT = 0.25
SHADOW_PASS_GAIN = 0.87


def _lights(spec: WorldSpec) -> list[str]:
    """The same total light in every world; a shadow hazard makes the main light cast shadows
    and shifts some fill into it, so only the band under the beam gets darker."""
    shadow = spec.hazard("shadow")
    contrast = shadow[0].contrast if shadow else 0.0
    sky, fill = SKY_LIGHT + FILL_LIGHT * contrast, FILL_LIGHT * (1 - contrast)
    if shadow:  # MuJoCo's shadow pass lights surfaces more strongly: calibrated to match
        sky, fill = sky * SHADOW_PASS_GAIN, fill * SHADOW_PASS_GAIN
    return [
        f'<light name="sky" directional="true" pos="0 0 9" dir="0 0.05 -1" '
        f'diffuse="{sky:.3f} {sky:.3f} {sky:.3f}" castshadow="{"true" if shadow else "false"}"/>',
        f'<light name="fill" directional="true" pos="0 0 8" dir="-0.2 -0.1 -1" '
        f'diffuse="{fill:.3f} {fill:.3f} {fill:.3f}" castshadow="false"/>',
    ]


def _shelves(spec: WorldSpec) -> list[str]:
    """Two shelving rows bounding the robot's aisle, with cartons for texture."""
    cy = AISLE_CENTERS_Y[spec.aisle]
    out = []
    for side in (-1, 1):
        y = cy + side * (AISLE_HALF_WIDTH + 0.5)
        out.append(
            f'<geom name="shelf_{side:+d}" type="box" pos="0 {y} 1.25" '
            f'size="{SHELF_LENGTH / 2} 0.5 1.25" material="shelf"/>'
        )
        for i in range(12):
            x = -SHELF_LENGTH / 2 + 1.25 + i * 2.5
            out.append(
                f'<geom type="box" pos="{x} {y - side * 0.52} 0.9" size="0.5 0.02 0.06" '
                f'material="beam" contype="0" conaffinity="0"/>'
            )
            out.append(
                f'<geom type="box" pos="{x} {y - side * 0.3} 1.25" size="0.45 0.25 0.3" '
                f'material="carton" contype="0" conaffinity="0"/>'
            )
    return out


def _robot(spec: WorldSpec) -> str:
    """A differential-drive robot: chassis, two driven wheels, two casters, camera, range sites."""
    cy = AISLE_CENTERS_Y[spec.aisle]
    tilt = math.radians(CAMERA_TILT_DEG)
    sites = []
    for i in range(RANGE_BEAMS):
        a = math.radians(-RANGE_FOV_DEG / 2 + i * RANGE_FOV_DEG / (RANGE_BEAMS - 1))
        sites.append(
            f'<site name="range_{i}" pos="0.31 0 0.12" '
            f'zaxis="{math.cos(a):.6f} {math.sin(a):.6f} 0" size="0.01"/>'
        )
    wheels = []
    for name, y in (("left", WHEEL_BASE / 2), ("right", -WHEEL_BASE / 2)):
        wheels.append(
            f'<body name="wheel_{name}" pos="0 {y} 0">'
            f'<joint name="{name}" type="hinge" axis="0 1 0" damping="0.05"/>'
            f'<geom name="wheel_{name}" type="sphere" size="{WHEEL_RADIUS}" '
            'friction="1.2 0.005 0.0001" rgba=".1 .1 .1 1" mass="1.5"/></body>'
        )
    return f"""
    <body name="robot" pos="-16 {cy - LANE_OFFSET} {WHEEL_RADIUS}">
      <freejoint name="robot"/>
      <geom name="chassis" type="box" pos="0 0 0.1" size="0.32 0.22 0.08" material="robot"
        mass="25"/>
      <geom name="mast" type="box" pos="0.2 0 0.3" size="0.04 0.06 0.12" material="robot" mass="1"/>
      <geom name="caster_f" type="sphere" pos="0.25 0 -0.048" size="0.05" condim="1" mass="0.2"/>
      <geom name="caster_b" type="sphere" pos="-0.25 0 -0.048" size="0.05" condim="1" mass="0.2"/>
      <camera name="front" pos="0.34 0 0.42" fovy="70"
        xyaxes="0 -1 0 {math.sin(tilt):.6f} 0 {math.cos(tilt):.6f}"/>
      {"".join(sites)}
      {"".join(wheels)}
    </body>"""


def _forklift(i: int) -> str:
    return f"""
    <body name="forklift_{i}" mocap="true" pos="{PARKED[0]} {PARKED[1] + i} {PARKED[2]}">
      <geom type="box" pos="0 0 0.55" size="0.9 0.55 0.5" material="forklift"/>
      <geom type="box" pos="0.2 0 1.4" size="0.5 0.5 0.04" material="forklift"/>
      <geom type="box" pos="1.0 0 0.9" size="0.05 0.4 0.9" rgba=".2 .2 .2 1"/>
      <geom type="box" pos="1.35 0 0.1" size="0.35 0.35 0.03" rgba=".3 .3 .3 1"/>
    </body>"""


def _worker(name: str, reflective: bool) -> str:
    """A person; a glare worker's vest carries retro-reflective strips on front and back."""
    strips = ""
    if reflective:
        strips = "".join(
            f'<geom name="{name}_strip_{j}" type="box" pos="{sx} 0 {z}" size="0.01 0.19 0.025" '
            'material="reflector" contype="0" conaffinity="0"/>'
            for j, (sx, z) in enumerate(((0.15, 1.2), (0.15, 1.05), (-0.15, 1.2), (-0.15, 1.05)))
        )
    return f"""
    <body name="{name}" mocap="true" pos="{PARKED[0]} {PARKED[1]} {PARKED[2]}">
      <geom type="capsule" fromto="0 0 0.15 0 0 0.85" size="0.13" material="person"/>
      <geom name="{name}_vest" type="box" pos="0 0 1.12" size="0.14 0.2 0.25" material="vest"/>
      <geom type="sphere" pos="0 0 1.55" size="0.12" rgba=".85 .7 .6 1"/>
      {strips}
    </body>"""


def _pallet(name: str, mocap: bool, x: float = 0.0, y: float = 0.0) -> str:
    pos = f"{PARKED[0]} {PARKED[1] - 3} {PARKED[2]}" if mocap else f"{x} {y} 0"
    return f"""
    <body name="{name}" {'mocap="true"' if mocap else ""} pos="{pos}">
      <geom type="box" pos="0 0 0.07" size="0.6 0.5 0.07" material="pallet"/>
      <geom type="box" pos="0 0 0.45" size="0.55 0.45 0.3" material="carton"/>
    </body>"""


def _shadow(spec: WorldSpec, h: ShadowHazard) -> list[str]:
    """An overhead beam across the aisle; the main light throws its hard shadow on the floor."""
    cy = AISLE_CENTERS_Y[spec.aisle]
    return [
        f'<geom name="shadow_beam" type="box" pos="{h.x} {cy} 3.2" '
        f'size="{h.width / 2} {AISLE_HALF_WIDTH + 1} 0.1" rgba=".3 .3 .3 1" '
        'contype="0" conaffinity="0"/>',
    ]


def _oil(spec: WorldSpec, h: OilHazard) -> str:
    cy = AISLE_CENTERS_Y[spec.aisle]
    return (
        f'<geom name="oil" type="box" pos="{h.x} {cy} 0.0005" '
        f'size="{h.length / 2} {AISLE_HALF_WIDTH - 0.1} 0.0005" material="oil" '
        f'friction="{h.friction} 0.001 0.00001" priority="1"/>'
    )


def build_mjcf(
    spec: WorldSpec, dt: float = 0.002, width: int = 128, height: int = 96, msaa: int = 0
) -> str:
    """The MJCF text of ``spec``: deterministic, so the same spec always builds the same model.

    ``msaa`` is the camera's multisampling: 0 by default (no anti-aliasing is 2.5-4x cheaper on
    a CPU renderer); the bundled v1 and labeler weights were trained on 4x frames, and their
    training commands pass 4 so they still reproduce byte-identically.
    """
    cy = AISLE_CENTERS_Y[spec.aisle]
    header = HEADER.format(dt=dt, width=max(width, 320), height=max(height, 240), msaa=msaa)
    parts = [header]
    parts += _lights(spec)
    parts += _shelves(spec)
    for x in spec.pallets_x:
        parts.append(_pallet(f"static_pallet_{len(parts)}", False, x, cy + AISLE_HALF_WIDTH - 0.6))
    for hz in spec.hazards:
        if isinstance(hz, ShadowHazard):
            parts += _shadow(spec, hz)
        elif isinstance(hz, OilHazard):
            parts.append(_oil(spec, hz))
    parts.append(_robot(spec))
    for i, _ in enumerate(spec.forklifts):
        parts.append(_forklift(i))
    for i, _ in enumerate(spec.workers):
        parts.append(_worker(f"worker_{i}", reflective=False))
    for i, _ in enumerate(spec.hazard("glare")):
        parts.append(_worker(f"glare_worker_{i}", reflective=True))
    for i, _ in enumerate(spec.hazard("obstacle")):
        parts.append(_pallet(f"obstacle_{i}", True))
    parts.append("""  </worldbody>
  <actuator>
    <velocity name="left" joint="left" kv="8" ctrlrange="-15 15" forcerange="-25 25"/>
    <velocity name="right" joint="right" kv="8" ctrlrange="-15 15" forcerange="-25 25"/>
  </actuator>
  <sensor>""")
    parts += [
        f'    <rangefinder name="range_{i}" site="range_{i}" cutoff="8"/>'
        for i in range(RANGE_BEAMS)
    ]
    parts.append("  </sensor>\n</mujoco>\n")
    return "\n".join(parts)


__all__ = ["build_mjcf", "GlareHazard", "ObstacleHazard", "WHEEL_RADIUS", "WHEEL_BASE"]
