"""The fleet API contract: what any fleet (simulated or a real fleet manager) exposes.

These models are the JSON bodies of the fleet HTTP API and the return types of the client.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

IncidentKind = Literal["stall", "estop", "collision", "nav_error"]
INCIDENT_KINDS: tuple[IncidentKind, ...] = ("stall", "estop", "collision", "nav_error")
Fidelity = Literal["full", "context"]
"""``full``: every message as logged. ``context``: telemetry decimated, camera as thumbnails."""


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


class ContextFidelity(BaseModel):
    """How context (what surrounds the incidents) is thinned before it crosses the link.

    Telemetry keeps the first message of each channel in every ``1 / telemetry_hz`` slot of log
    time; cameras keep one frame per ``1 / thumbnail_hz`` slot, shrunk to a JPEG thumbnail no
    wider or taller than ``thumbnail_px``. Event channels are always kept whole.
    """

    telemetry_hz: float = Field(2.0, gt=0, le=1000)
    thumbnail_hz: float = Field(1.0, gt=0, le=1000)
    thumbnail_px: int = Field(64, ge=8, le=1024)
    thumbnail_quality: int = Field(60, ge=5, le=95, description="JPEG quality of thumbnails")


class UploadRequest(BaseModel):
    """Ask a robot to send a time window of one of its logs over the site link."""

    log_name: str
    start_ns: int
    end_ns: int
    topics: list[str] | None = Field(None, description="None means every topic")
    fidelity: Fidelity = "full"
    context: ContextFidelity = Field(
        default_factory=ContextFidelity, description="how to thin; used when fidelity='context'"
    )


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
    fidelity: Fidelity = "full"


class UploadPlanRequest(BaseModel):
    """What a robot should send over its link: a byte budget, a deadline, or both.

    Incident windows (``pre_s`` before to ``post_s`` after each incident event, merged when
    they overlap) go first at full fidelity; context at reduced fidelity fills what is left,
    up to ``context_budget_bytes`` when given. At least one of ``budget_bytes`` and
    ``deadline_s`` must be set; with both, the smaller budget wins.
    """

    log_name: str | None = Field(None, description="one log; None plans over all of them")
    budget_bytes: int | None = Field(None, gt=0)
    deadline_s: float | None = Field(None, gt=0, description="seconds of link time allowed")
    context_budget_bytes: int | None = Field(None, ge=0, description="cap on context bytes")
    incidents: bool = Field(True, description="False: no incident windows, context only")
    incident_kinds: list[IncidentKind] = Field(default_factory=lambda: list(INCIDENT_KINDS))
    pre_s: float = Field(8.0, ge=0)
    post_s: float = Field(4.0, ge=0)
    context: ContextFidelity = Field(default_factory=ContextFidelity)
    context_segment_s: float = Field(10.0, gt=0, description="granularity of context items")


class PlanEvent(BaseModel):
    """An event read from a log's event channel."""

    time_ns: int
    kind: str
    severity: str = ""
    detail: str = ""


class PlanItem(BaseModel):
    """One piece of a plan: a time window of a log, what to do with it and what it costs."""

    log_name: str
    role: Literal["incident", "context"]
    action: Literal["send", "left"] = Field(description="left: stays on the robot, requestable")
    fidelity: Fidelity
    start_ns: int
    end_ns: int
    topics: list[str] | None = None
    estimated_bytes: int
    events: list[PlanEvent] = Field(default_factory=list, description="incidents it covers")
    note: str = ""

    def upload_request(self, context: ContextFidelity | None = None) -> UploadRequest:
        """The upload request that fetches this item (now, or later for a ``left`` item)."""
        return UploadRequest(
            log_name=self.log_name,
            start_ns=self.start_ns,
            end_ns=self.end_ns,
            topics=self.topics,
            fidelity=self.fidelity,
            context=context or ContextFidelity(),
        )


class UploadPlan(BaseModel):
    """What a robot will send, in order, and what stays on board; estimated from the log index.

    ``items`` lists what to send first (most severe, then most recent incidents; then context
    nearest the incidents), followed by what is left on the robot at full fidelity.
    """

    robot_id: str = ""
    logs: dict[str, int] = Field(description="log name -> size in bytes on the robot")
    request: UploadPlanRequest
    link_speed_bps: int
    budget_bytes: int = Field(description="the effective budget: min(budget, deadline x speed)")
    items: list[PlanItem]
    send_bytes: int
    incident_bytes: int = Field(description="estimated bytes of incident items sent")
    context_bytes: int = Field(description="estimated bytes of context items sent")
    left_bytes: int = Field(description="full-fidelity bytes that stay on the robot")
    estimated_transfer_s: float
    incidents_total: int
    incidents_full: int = Field(description="incidents whose window is sent at full fidelity")
    incidents_reduced: int = Field(description="incidents sent only at reduced fidelity")
    incidents_left: int = Field(description="incidents whose window is not sent at all")
    budget_exceeded: bool = Field(description="the incident windows alone exceed the budget")
    warnings: list[str] = Field(default_factory=list)

    @property
    def to_send(self) -> list[PlanItem]:
        return [i for i in self.items if i.action == "send"]

    @property
    def left(self) -> list[PlanItem]:
        return [i for i in self.items if i.action == "left"]


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


class PublishPolicyRequest(BaseModel):
    """A policy artifact handed to the fleet's artifact store; no robot runs it until deployed."""

    version: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 of the weights file")
    weights_b64: str = Field(description="the weights file, base64")
    card: dict = Field(description="the policy card (JSON) saved beside the weights")


class ShiftCounters(BaseModel):
    """The counters a robot reports over a shift; summed over robots and shifts, the totals the
    rollout gates compare (the one definition of the fleet's metric fields)."""

    hours: float = Field(0.0, ge=0)
    missions: int = 0
    stalls: int = 0
    stall_time_s: float = 0.0
    phantom_stops: int = 0
    estops: int = 0
    collisions: int = 0
    distance_m: float = 0.0


class RobotShiftMetrics(ShiftCounters):
    """What one robot reported about one shift: its own counters, never the ground truth.

    Phantom stops are the stops the robot made while its own range scan showed the path ahead
    free, which the robot can tell by itself (it cannot tell *why* it stopped).
    """

    hours: float = Field(ge=0)  # a report always says how long it covers
    shift_id: str
    robot_id: str
    zone: str
    policy_version: str = Field(description="the version the robot ran during the shift")


class ShiftInfo(BaseModel):
    """A shift (or shift segment) the fleet has run, in order."""

    shift_id: str
    start_ns: int
    duration_s: float


class AdvanceRequest(BaseModel):
    """SIMULATOR ONLY: run the next shift segment, every robot on the version it now has.

    A real fleet has no such command: time passes and robots report. ``advance_id`` makes the
    command idempotent, so a retried request never runs a second segment.
    """

    advance_id: str = Field(min_length=1, max_length=200)
    minutes: float = Field(gt=0, le=24 * 60)
    seed: int = 0
    hazards: list[str] | None = Field(None, description="None: every hazard kind")
    workers: int = Field(0, ge=0, description="simulation processes; 0 = CPU count")


class AdvanceResult(BaseModel):
    """The segment that ran: its shift id and which version each robot ran."""

    advance_id: str
    shift_id: str
    duration_s: float
    versions: dict[str, str] = Field(description="robot id -> policy version it ran")
