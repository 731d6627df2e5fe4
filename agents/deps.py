"""What agent nodes act through; built by the caller and closed over by the graph."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from robotops.agents.reasoning.base import Reasoner
from robotops.agents.reasoning.embedded import EmbeddedReasoner
from robotops.agents.triage.procedure import TriageDeps
from robotops.tools.approvals.models import Actor
from robotops.tools.approvals.service import ApprovalService
from robotops.tools.context import ToolContext

AGENT_NAME = "rollout-steward"


@dataclass
class AgentDeps:
    """The tool context (stores, fleet, approvals) and the reasoning backend the agents use."""

    ctx: ToolContext
    reasoner: Reasoner = field(default_factory=EmbeddedReasoner)

    @property
    def approvals(self) -> ApprovalService:
        return self.ctx.approvals

    @cached_property
    def triage(self) -> TriageDeps:
        """The triage procedure's dependencies, from the same context (kept for older nodes)."""
        from robotops.tools.tool_defs import triage_deps

        return triage_deps(self.ctx)

    @staticmethod
    def agent(name: str) -> Actor:
        """An agent as a requester: it may ask for approvals, never decide them."""
        return Actor(name=name, role="engineer", is_agent=True)

    def ctx_for(self, config: dict) -> ToolContext:
        """The tool context of one run: same stores, the run's id for idempotency keys."""
        return self.ctx.for_run(config["configurable"]["thread_id"])
