"""Approval requests, decisions and audit entries."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Action = Literal["deploy", "rollout_stage", "train", "campaign", "robot_config"]
Status = Literal["pending", "approved", "rejected", "used"]
Role = Literal["viewer", "engineer", "approver", "admin"]
PHYSICAL_ACTIONS: frozenset[str] = frozenset({"deploy", "rollout_stage", "robot_config"})


class Actor(BaseModel):
    """Who is acting: a person (or an agent, which never holds the approver role)."""

    name: str = Field(min_length=1)
    role: Role
    is_agent: bool = False


class StageBinding(BaseModel):
    """What a rollout-stage approval was given for: it authorizes that stage of that plan only.

    ``evidence_sha256`` is the sha256 of the request's ``evidence`` (canonical JSON), i.e. of
    exactly what the approver was shown.
    """

    rollout_id: str = Field(min_length=1, max_length=128)
    stage: int = Field(ge=0, le=1000)
    plan_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    evidence_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class ApprovalCreate(BaseModel):
    """What is asked, on what, for which targets, why, with what evidence and risk."""

    action: Action
    artifact_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    targets: list[str] = Field(min_length=1, description="robot ids, or a resource name")
    reason: str
    evidence: dict = Field(default_factory=dict)
    risk: Literal["low", "medium", "high"] = "medium"
    thread_id: str | None = Field(None, description="the agent run to resume on a decision")
    binding: StageBinding | None = Field(None, description="the rollout stage it is bound to")


class ApprovalPublic(ApprovalCreate):
    """A stored request with its state."""

    id: str
    requested_by: str = Field(description="the identity that filed it (an agent's service name)")
    caused_by: str | None = Field(None, description="the person behind the request")
    status: Status
    created_at: datetime
    decided_by: str | None = None
    decision_comment: str | None = None
    decided_at: datetime | None = None
    used_by: str | None = Field(None, description="the idempotency key of the action that used it")


class Decision(BaseModel):
    approve: bool
    comment: str = ""


class AuditEntry(BaseModel):
    """One line of the append-only audit log; ``hash`` chains it to the line before."""

    seq: int
    at: datetime
    actor: str
    event: str
    request_id: str | None
    detail: dict
    prev_hash: str
    hash: str
