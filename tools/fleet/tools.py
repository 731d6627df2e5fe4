"""The fleet's tools: robots, incidents, pulling windows home, policy versions, deploying.

Each wrapper takes one pydantic request and the :class:`ToolContext`, calls the function that
does the work with the fleet client the context opens, and returns its pydantic result. The
docstrings are what an LLM reads to choose a tool, so they say when to use each one.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from robotops.errors import NotFoundError
from robotops.sim.fleet.models import Incident, IncidentKind, PolicyInfo, Robot
from robotops.tools.context import ToolContext
from robotops.tools.fleet.actions import (
    DeployPolicyRequest,
    DeployPolicyResult,
    FleetActionDeps,
    deploy_policy,
)
from robotops.tools.fleet.pull import PULL_BUDGET_BYTES, PullResult, pull
from robotops.tools.fleet.pull import PullRequest as _FleetPull
from robotops.tools.toolset import Toolset

toolset = Toolset("fleet")


class RobotsQuery(BaseModel):
    """No arguments: every robot the fleet reports."""


class RobotList(BaseModel):
    """Every robot the fleet reports."""

    robots: list[Robot]


@toolset.tool("list_robots")
def list_robots_tool(request: RobotsQuery, ctx: ToolContext) -> RobotList:
    """List the fleet's robots (id, site, zone, policy version, status).

    Use it to find which robot a person means, or which robots run which policy version.
    """
    return RobotList(robots=ctx.fleet.robots())


class IncidentsQuery(BaseModel):
    """Which incidents to list; all of them when nothing is given."""

    robot_id: str | None = None
    since_ns: int | None = Field(None, description="only incidents at or after this log time")
    kind: IncidentKind | None = Field(None, description="stall, estop, collision or nav_error")


class IncidentList(BaseModel):
    """Incidents the robots flagged."""

    incidents: list[Incident] = Field(description="oldest first")


@toolset.tool("list_incidents")
def list_incidents_tool(request: IncidentsQuery, ctx: ToolContext) -> IncidentList:
    """List the incidents robots flagged (stalls, e-stops, collisions, navigation errors).

    Use it to find the incident a question is about, or what is new since a time. Robots know
    *that* something failed, not *why*: diagnose_incident says why.
    """
    found = ctx.fleet.incidents(robot_id=request.robot_id, since_ns=request.since_ns)
    if request.kind:
        found = [i for i in found if i.kind == request.kind]
    return IncidentList(incidents=sorted(found, key=lambda i: i.time_ns))


class PullWindowsRequest(BaseModel):
    """Bring a robot's incident windows home over its thin link, within a byte budget."""

    robot_id: str
    budget_bytes: int = Field(PULL_BUDGET_BYTES, gt=0, description="bytes allowed over the link")
    context_budget_bytes: int = Field(0, ge=0, description="bytes for thinned context around them")
    pre_s: float = Field(8.0, ge=0, description="seconds kept before each incident")
    post_s: float = Field(4.0, ge=0, description="seconds kept after each incident")


@toolset.tool("pull_incident_windows")
def pull_incident_windows_tool(request: PullWindowsRequest, ctx: ToolContext) -> PullResult:
    """Pull the time windows around a robot's incidents from the robot (resumable, in budget).

    Use it when the data about an incident is still on the robot; files land under
    DATA_DIR/pulled/<robot>. Pulling again resumes and fetches nothing twice.
    """
    return pull(
        _FleetPull(
            robot_id=request.robot_id,
            out_dir=ctx.data_dir / "pulled" / request.robot_id,
            budget_bytes=request.budget_bytes,
            context_budget_bytes=request.context_budget_bytes,
            pre_s=request.pre_s,
            post_s=request.post_s,
        ),
        ctx.fleet,
    )


class PoliciesQuery(BaseModel):
    """No arguments: every policy version the fleet's artifact store holds."""


class PolicyList(BaseModel):
    """Every policy version the fleet holds, with its artifact hash."""

    policies: list[PolicyInfo]


@toolset.tool("list_policies")
def list_policies_tool(request: PoliciesQuery, ctx: ToolContext) -> PolicyList:
    """List the policy versions the fleet can deploy, each with its artifact hash.

    Use it to find a version's sha256 before asking a person to approve deploying it, or to see
    whether a candidate was already published.
    """
    return PolicyList(policies=ctx.fleet.policies())


class PolicyChangesQuery(BaseModel):
    """Which policy version to compare with the one before it."""

    version: str = Field(description='a policy version the fleet knows, e.g. "v2"')


class PolicyChanges(BaseModel):
    """A version against the one before it, and where each runs."""

    version: str
    sha256: str
    previous: PolicyInfo | None = Field(description="the version listed just before it")
    robots_on_it: list[str]
    robots_on_previous: list[str]
    deployments: list[str] = Field(default_factory=list, description="approvals that used it")


@toolset.tool("policy_changes")
def policy_changes_tool(request: PolicyChangesQuery, ctx: ToolContext) -> PolicyChanges:
    """Say what changed with a policy version: its hash, the version before, who runs it.

    Use it for "what changed in policy v2?" or before proposing a rollout.
    """
    policies = sorted(ctx.fleet.policies(), key=lambda p: _version_key(p.version))
    names = [p.version for p in policies]
    if request.version not in names:
        raise NotFoundError("policy version", request.version, names)
    at = names.index(request.version)
    previous = policies[at - 1] if at > 0 else None
    robots = ctx.fleet.robots()
    used = [
        a.id
        for a in ctx.approvals.store.list()
        if a.artifact_sha256 == policies[at].sha256 and a.status in ("approved", "used")
    ]
    return PolicyChanges(
        version=request.version,
        sha256=policies[at].sha256,
        previous=previous,
        robots_on_it=[r.robot_id for r in robots if r.policy_version == request.version],
        robots_on_previous=[
            r.robot_id for r in robots if previous and r.policy_version == previous.version
        ],
        deployments=used,
    )


def _version_key(version: str) -> tuple[int, str]:
    digits = "".join(c for c in version if c.isdigit())
    return (int(digits) if digits else -1, version)


@toolset.tool("deploy_policy", acts_on_fleet=True)
def deploy_policy_tool(request: DeployPolicyRequest, ctx: ToolContext) -> DeployPolicyResult:
    """Put a policy version on named robots. Requires a human approval for exactly this deploy.

    Use it only with the id of an approval a person granted in the inbox for this policy's
    hash and these robots; reuse the same deployment_id when retrying (idempotent).
    """
    return deploy_policy(
        request, FleetActionDeps(fleet=ctx.fleet, approvals=ctx.approvals, actor=ctx.actor)
    )
