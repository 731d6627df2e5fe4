"""What agent nodes act through; built by the caller and closed over by the graph."""

from __future__ import annotations

from dataclasses import dataclass, field

from robotops.agents.reasoning.base import Reasoner, Uses
from robotops.agents.reasoning.embedded import EmbeddedReasoner
from robotops.memory.approval_models import Actor
from robotops.tools.approvals.service import ApprovalService
from robotops.tools.context import ToolContext
from robotops.tools.defaults import default_toolsets
from robotops.tools.toolset import Toolset, ToolSpec

AGENT_NAME = "rollout-steward"


@dataclass
class AgentDeps:
    """The tool context (stores, fleet, approvals), the reasoning backend and the toolsets
    (domain name -> toolset; every domain's by default) the agents use."""

    ctx: ToolContext
    reasoner: Reasoner = field(default_factory=EmbeddedReasoner)
    toolsets: dict[str, Toolset] = field(default_factory=default_toolsets)

    @property
    def approvals(self) -> ApprovalService:
        return self.ctx.approvals

    def tools(self, uses: Uses, node: str = "node") -> list[ToolSpec]:
        """The tools a node declared, from these toolsets (fails naming a missing one)."""
        return uses.resolve(self.toolsets, node)

    @staticmethod
    def agent(name: str) -> Actor:
        """An agent as a requester: it may ask for approvals, never decide them."""
        return Actor(name=name, role="engineer", is_agent=True)

    def ctx_for(self, config: dict) -> ToolContext:
        """The tool context of one run: same stores, the run's id for idempotency keys."""
        return self.ctx.for_run(config["configurable"]["thread_id"])
