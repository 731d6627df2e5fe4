"""The existing capabilities registered as typed tools: thin wrappers, no logic of their own.

Each wrapper takes one pydantic request and the :class:`ToolContext`, calls the function that
does the work with the stores and clients the context opens, and returns its pydantic result.
The docstrings are what an LLM reads to choose a tool, so they say when to use each one.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from robotops.agents.triage.procedure import PULL_BUDGET_BYTES, TriageAnswer, TriageDeps, triage
from robotops.errors import NotFoundError
from robotops.tools.context import ToolContext
from robotops.tools.fleet.actions import (
    DeployPolicyRequest,
    DeployPolicyResult,
    FleetActionDeps,
    deploy_policy,
)
from robotops.tools.fleet.models import Incident, IncidentKind, PolicyInfo, Robot
from robotops.tools.fleet.pull import PullRequest as _FleetPull
from robotops.tools.fleet.pull import PullResult, pull
from robotops.tools.labeling.models import LabelRequest, LabelResult
from robotops.tools.labeling.run import LabelDeps, label_segments
from robotops.tools.logs.ingest import IngestRequest, IngestResult, ingest_log
from robotops.tools.logs.search import SearchQuery, SearchResult, search_segments
from robotops.tools.registry import tool
from robotops.tools.triage.diagnose import diagnose_incident
from robotops.tools.triage.models import DiagnoseRequest, Diagnosis


class RobotsQuery(BaseModel):
    """No arguments: every robot the fleet reports."""


class RobotList(BaseModel):
    robots: list[Robot]


@tool("list_robots")
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
    incidents: list[Incident] = Field(description="oldest first")


@tool("list_incidents")
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


@tool("pull_incident_windows")
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


@tool("ingest_log")
def ingest_log_tool(request: IngestRequest, ctx: ToolContext) -> IngestResult:
    """Store a log (MCAP, ROS 2 or ROS 1 bag), catalogue it and index its segments for search.

    Use it on a pulled window or any log file before searching or labeling it; ingesting the
    same log twice stores it once.
    """
    return ingest_log(request, ctx.ingest)


@tool("search_segments")
def search_segments_tool(request: SearchQuery, ctx: ToolContext) -> SearchResult:
    """Find log segments that match a description of what happened, across the whole fleet.

    Use it for "similar incidents" ("camera glare, phantom obstacle stop"), or examples of a
    label or event; each hit says why it matched.
    """
    return search_segments(request, ctx.index)


@tool("diagnose_incident")
def diagnose_incident_tool(request: DiagnoseRequest, ctx: ToolContext) -> Diagnosis:
    """Name the most likely cause of an incident from the log around it, with evidence.

    Use it once the incident's window is on disk (pull_incident_windows): it reads commanded vs
    measured motion, camera saturation, range ahead, diagnostics, and cites each signal.
    """
    return diagnose_incident(request)


@tool("label_segments")
def label_segments_tool(request: LabelRequest, ctx: ToolContext) -> LabelResult:
    """Label camera segments not yet labeled by the current labeler (glare, forklift, ...).

    Use it after ingesting new logs so that search and datasets can find segments by what is
    in them; it only does what is missing.
    """
    return label_segments(request, LabelDeps.from_settings(ctx.settings, index=ctx.index))


class TriageQuestion(BaseModel):
    question: str = Field(
        min_length=1, max_length=2000, description='e.g. "why did #104 stall?" naming a robot'
    )


@tool("triage_incident")
def triage_incident_tool(request: TriageQuestion, ctx: ToolContext) -> TriageAnswer:
    """Answer why a robot had an incident: cause, confidence, cited signals, similar moments.

    Use it for "why did #104 stall?": it resolves the robot, picks its incident, pulls and
    ingests the window if needed, diagnoses it and searches for similar segments.
    """
    return triage(request.question, triage_deps(ctx))


def triage_deps(ctx: ToolContext) -> TriageDeps:
    return TriageDeps(
        fleet=ctx.fleet,
        ingest=ctx.ingest,
        index=ctx.index,
        pulled_dir=ctx.data_dir / "pulled",
        frames_dir=ctx.data_dir / "frames",
    )


class PolicyChangesQuery(BaseModel):
    version: str = Field(description='a policy version the fleet knows, e.g. "v2"')


class PolicyChanges(BaseModel):
    """A version against the one before it, and where each runs."""

    version: str
    sha256: str
    previous: PolicyInfo | None = Field(description="the version listed just before it")
    robots_on_it: list[str]
    robots_on_previous: list[str]
    deployments: list[str] = Field(default_factory=list, description="approvals that used it")


@tool("policy_changes")
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


@tool("deploy_policy", acts_on_fleet=True)
def deploy_policy_tool(request: DeployPolicyRequest, ctx: ToolContext) -> DeployPolicyResult:
    """Put a policy version on named robots. Requires a human approval for exactly this deploy.

    Use it only with the id of an approval a person granted in the inbox for this policy's
    hash and these robots; reuse the same deployment_id when retrying (idempotent).
    """
    return deploy_policy(
        request, FleetActionDeps(fleet=ctx.fleet, approvals=ctx.approvals, actor=ctx.actor)
    )
