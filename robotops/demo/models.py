"""What the demo did, as data: the report and ``--json`` read these, the run fills them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from robotops.demo.figures import ShiftFigures
from robotops.sim.fleet.shift import ShiftSummary
from robotops.tools.triage.answer import TriageAnswer


class Collected(BaseModel):
    robots: int
    files: int
    bytes_sent: int
    bytes_logged: int
    incidents_covered: int
    incidents: int
    labels: dict[str, int] = Field(default_factory=dict)


class DiagnosedIncident(BaseModel):
    incident_id: str
    robot_id: str
    kind: str
    cause: str
    confidence: float


class DemoResult(BaseModel):
    """Everything the demo did, with the figures the report and ``--json`` show."""

    seed: int
    auto_approve: bool
    shift: ShiftSummary
    collected: Collected
    triage: TriageAnswer | None
    diagnosed: list[DiagnosedIncident] = Field(default_factory=list)
    causes: dict[str, int] = Field(default_factory=dict)
    scenarios: dict[str, Any] = Field(default_factory=dict)
    training: dict[str, Any] = Field(default_factory=dict)
    validation: dict[str, Any] = Field(default_factory=dict)
    rollout: dict[str, Any] = Field(default_factory=dict)
    approvals: list[dict[str, Any]] = Field(default_factory=list)
    before: ShiftFigures | None = None
    after: ShiftFigures | None = None
    stopped_at: str = Field("", description="where the loop stopped, if it did not finish")
    report: str = ""
    phases_s: dict[str, float] = Field(default_factory=dict)
