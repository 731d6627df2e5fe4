"""A scenario: one world, one robot task, one seed; plain text a person can read and diff.

Scenarios are what campaigns run and what the golden regression suite is made of. Each is
content-hashed over its canonical JSON, so a result always names exactly what it ran.
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, Field

from robotops.sim.world.specs import LANE_X_RANGE, WorldSpec

SCENARIO_SCHEMA_VERSION: Literal[1] = 1


class ScenarioSource(BaseModel):
    """The real incident a scenario was reconstructed from (absent for hand-written ones)."""

    incident_id: str
    robot_id: str
    log_sha256: str = Field(description="content hash of the log the incident was read from")
    time_ns: int
    cause: str = Field(description="the triage diagnosis the scenario reproduces")


class ScenarioSpec(BaseModel):
    """Everything a campaign needs to run one scenario, and nothing about the policy."""

    schema_version: Literal[1] = SCENARIO_SCHEMA_VERSION
    scenario_id: str = Field(min_length=1, description="readable, unique within a family")
    family: str = Field(min_length=1)
    description: str = ""
    world: WorldSpec
    start_x: float = Field(-16.0, description="start position along the robot's lane, m")
    outbound: bool = Field(True, description="driving towards +x (True) or -x")
    goal_x: float | None = Field(
        None, description="where along the lane the task ends; default: the far lane end"
    )
    turn_at_goal: bool = Field(
        False, description="at the goal, turn across into the return lane (where oil and lag bite)"
    )
    duration_s: float = Field(40.0, gt=0.0, le=3600.0)
    seed: int = 0
    tags: list[str] = Field(default_factory=list, description="e.g. glare, safety, variant")
    source: ScenarioSource | None = None
    params: dict[str, float] = Field(
        default_factory=dict, description="the sampled variant parameters, for plots and edges"
    )

    def goal(self) -> float:
        """The goal's x: ``goal_x``, or the far end of the lane in the driving direction."""
        if self.goal_x is not None:
            return self.goal_x
        return LANE_X_RANGE[1] if self.outbound else LANE_X_RANGE[0]

    def canonical_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()
