"""Plain-data descriptions of a warehouse world: layout, actors and hazards.

Specs are pydantic models so that they serialise to readable JSON, hash stably, and validate
their ranges before any simulation time is spent.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

AISLE_CENTERS_Y = (-6.0, 0.0, 6.0)
AISLE_HALF_WIDTH = 2.5
LANE_OFFSET = 1.0
LANE_X_RANGE = (-16.5, 16.5)  # lanes run past the shelf ends: robots turn in the cross-aisle
CROSS_AISLE_X = 18.0
SHELF_LENGTH = 30.0


class GlareHazard(BaseModel):
    """A worker in a retro-reflective vest beside the lane: flares the camera at some angles."""

    kind: Literal["glare"] = "glare"
    x: float = Field(description="position along the aisle, m")
    intensity: float = Field(1.0, ge=0.0, le=3.0)
    facing_deg: float = Field(180.0, description="vest normal vs. the lane direction, degrees")
    side: float = Field(-1.0, description="-1: beside the outbound lane, +1: the return lane")


class ShadowHazard(BaseModel):
    """An overhead beam lit by a low, strong light: a hard shadow band across the aisle."""

    kind: Literal["shadow"] = "shadow"
    x: float
    width: float = Field(0.8, gt=0.05, le=3.0)
    contrast: float = Field(0.8, ge=0.0, le=1.0, description="how dark the band is, 0..1")


class OilHazard(BaseModel):
    """A patch of oil on the lane: low floor friction, wheels slip."""

    kind: Literal["oil"] = "oil"
    x: float
    length: float = Field(2.0, gt=0.1, le=10.0)
    friction: float = Field(0.05, gt=0.0, le=1.0)


class LatencyHazard(BaseModel):
    """A motor controller that applies commands late: the heading loop oscillates."""

    kind: Literal["latency"] = "latency"
    latency_s: float = Field(0.35, ge=0.0, le=2.0)


class ObstacleHazard(BaseModel):
    """A real pallet left in the lane for a while: stopping for it is correct."""

    kind: Literal["obstacle"] = "obstacle"
    x: float
    appear_s: float = Field(ge=0.0)
    duration_s: float = Field(30.0, gt=0.0)
    side: float = Field(-1.0, description="-1: in the outbound lane, +1: in the return lane")


Hazard = Annotated[
    GlareHazard | ShadowHazard | OilHazard | LatencyHazard | ObstacleHazard,
    Field(discriminator="kind"),
]
HAZARD_KINDS = ("glare", "shadow", "oil", "latency", "obstacle")


class ForkliftActor(BaseModel):
    """A forklift shuttling between two points (x, y relative to the aisle centre), kinematic."""

    start: tuple[float, float]
    end: tuple[float, float]
    speed: float = Field(1.2, gt=0.0)
    phase: float = Field(0.0, ge=0.0, lt=2.0)


class WorkerActor(BaseModel):
    """A worker in an ordinary (non-flaring) vest: beside the lanes, or standing in one."""

    x: float
    side: float = -1.0
    facing_deg: float = 90.0
    in_lane: bool = Field(
        False, description="stand in the lane on ``side`` (-1 outbound, +1 return): must stop"
    )


class WorldSpec(BaseModel):
    """Everything that defines one robot's world, apart from the policy driving it."""

    aisle: int = Field(0, ge=0, le=len(AISLE_CENTERS_Y) - 1)
    hazards: list[Hazard] = Field(default_factory=list)
    forklifts: list[ForkliftActor] = Field(default_factory=list)
    workers: list[WorkerActor] = Field(default_factory=list)
    pallets_x: list[float] = Field(default_factory=list, description="static pallets by shelves")
    sensor_noise: float = Field(0.01, ge=0.0, le=0.5, description="range noise std, m")

    def hazard(self, kind: str) -> list[Hazard]:
        return [h for h in self.hazards if h.kind == kind]
