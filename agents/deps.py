"""What agent nodes act through; built by the caller and closed over by the graph."""

from __future__ import annotations

from dataclasses import dataclass

from robotops.agents.triage.procedure import TriageDeps
from robotops.tools.approvals.service import ApprovalService

AGENT_NAME = "rollout-steward"


@dataclass
class AgentDeps:
    triage: TriageDeps
    approvals: ApprovalService
