"""Inputs and outputs of the triage tools."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Cause = Literal["glare", "shadow", "oil", "latency", "real_obstacle", "unknown"]


class Citation(BaseModel):
    """Where in a log a piece of evidence comes from."""

    log: str
    topic: str
    start_ns: int
    end_ns: int
    frame_path: str | None = None


class Signal(BaseModel):
    """One measured signal around the incident, with what it suggests."""

    name: str
    value: float
    note: str
    citation: Citation | None = None


class DiagnoseRequest(BaseModel):
    """Diagnose an incident at ``time_ns`` in a log (a full log or a pulled window)."""

    log_path: str
    time_ns: int
    kind: str = Field("stall", description="the event the robot flagged")
    before_s: float = 8.0
    after_s: float = 1.0
    frames_dir: str | None = Field(None, description="where to save the cited frames as PNG")


class Diagnosis(BaseModel):
    """The most likely cause, how sure, why, and what data was missing."""

    cause: Cause
    confidence: float
    summary: str
    signals: list[Signal]
    citations: list[Citation]
    missing: list[str] = Field(default_factory=list)
