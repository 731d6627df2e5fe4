"""The fleet API contract: what any fleet (simulated or a real fleet manager) exposes.

These models are the JSON bodies of the fleet HTTP API and the return types of the client.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

IncidentKind = Literal["stall", "estop", "collision", "nav_error"]


class Robot(BaseModel):
    """A robot as the fleet reports it."""

    robot_id: str
    site: str
    zone: str
    policy_version: str
    online: bool = True
    status: Literal["idle", "working", "stalled", "offline"] = "idle"
    link_speed_bps: int = Field(description="uplink speed of the robot's site, bytes/s")


class Incident(BaseModel):
    """An event the robot itself flagged (it knows *that* something failed, not *why*)."""

    incident_id: str
    robot_id: str
    kind: IncidentKind
    time_ns: int = Field(description="log time of the event, ns since the Unix epoch")
    zone: str
    log_name: str
    policy_version: str
    detail: str = ""


class LogFile(BaseModel):
    """A log still on the robot (not yet uploaded)."""

    robot_id: str
    log_name: str
    size_bytes: int
    start_ns: int
    end_ns: int
    topics: list[str]


class UploadRequest(BaseModel):
    """Ask a robot to send a time window of one of its logs over the site link."""

    log_name: str
    start_ns: int
    end_ns: int
    topics: list[str] | None = Field(None, description="None means every topic")


class Upload(BaseModel):
    """A prepared upload: a valid MCAP of the window, fetched in byte ranges at link speed."""

    upload_id: str
    robot_id: str
    log_name: str
    start_ns: int
    end_ns: int
    topics: list[str] | None
    size_bytes: int
    sha256: str
    link_speed_bps: int


class DeployRequest(BaseModel):
    """Put a policy version on named robots. ``deployment_id`` makes the command idempotent."""

    policy_version: str
    robot_ids: list[str]
    deployment_id: str


class RollbackRequest(BaseModel):
    """Return named robots to the version they ran before the given deployment."""

    deployment_id: str
    robot_ids: list[str] | None = None


class Deployment(BaseModel):
    """The record of a deploy (or of its rollback)."""

    deployment_id: str
    policy_version: str
    robot_ids: list[str]
    previous_versions: dict[str, str]
    status: Literal["deployed", "rolled_back"] = "deployed"


class PolicyInfo(BaseModel):
    """A policy version the fleet can run."""

    version: str
    sha256: str
