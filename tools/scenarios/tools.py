"""The scenario tool: rebuild a triaged incident from its log into a family of scenario files."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from robotops.errors import InvalidRequestError, NotFoundError, RobotOpsError
from robotops.sim.fleet.models import Incident
from robotops.sim.fleet.state import FleetStore
from robotops.sim.logs.readers import read_summary
from robotops.sim.scenarios.family import FamilyRequest, generate_family
from robotops.sim.scenarios.io import write_scenarios
from robotops.tools.context import ToolContext
from robotops.tools.toolset import Toolset

toolset = Toolset("scenarios")


class GenerateScenariosRequest(BaseModel):
    """A triaged incident (where its log is, when, what caused it) and how many variants."""

    incident_id: str = Field(min_length=1)
    robot_id: str
    log_path: str | None = Field(
        None,
        description="the incident's log (MCAP or ROS bag) on this machine; default: a pulled "
        "window covering the incident, else the simulated fleet's copy",
    )
    time_ns: int | None = Field(None, description="default: the incident's time, from the fleet")
    cause: str = Field(description="triage diagnosis: glare, shadow, oil, latency, real_obstacle")
    variants: int = Field(16, ge=0, le=100_000)
    seed: int = 0
    duration_s: float = Field(20.0, gt=0.0, le=600.0)
    out_dir: str | None = Field(None, description="default DATA_DIR/scenarios/<family>")


class ScenarioRef(BaseModel):
    """One written scenario: its id, content hash, tags and file."""

    scenario_id: str
    sha256: str
    tags: list[str]
    file: str


class GenerateScenariosResult(BaseModel):
    """The scenario family written: its name, directory and scenarios."""

    family: str
    directory: str
    count: int
    scenarios: list[ScenarioRef]


def _incident(request: GenerateScenariosRequest, ctx: ToolContext) -> Incident:
    """The incident record: from the local simulated fleet if there is one, else the fleet API."""
    local = FleetStore(ctx.data_dir / "fleet")
    found = local.incidents() if local.exists() else ctx.fleet.incidents(request.robot_id)
    for incident in found:
        if incident.incident_id == request.incident_id:
            return incident
    raise NotFoundError("incident", request.incident_id, sorted(i.incident_id for i in found))


def _pulled_window(robot_id: str, time_ns: int, ctx: ToolContext) -> Path | None:
    """A pulled log of the robot whose time range covers the incident."""
    for path in sorted((ctx.data_dir / "pulled" / robot_id).rglob("*.mcap")):
        try:
            summary = read_summary(path)
        except RobotOpsError:
            continue
        if summary.start_ns is not None and summary.start_ns <= time_ns <= (summary.end_ns or 0):
            return path
    return None


def locate_incident(request: GenerateScenariosRequest, ctx: ToolContext) -> tuple[Path, int]:
    """The log and time to rebuild from: as given, or found from the incident id."""
    if request.log_path and request.time_ns is not None:
        return Path(request.log_path), request.time_ns
    incident = _incident(request, ctx)
    time_ns = request.time_ns if request.time_ns is not None else incident.time_ns
    if request.log_path:
        return Path(request.log_path), time_ns
    pulled = _pulled_window(incident.robot_id, time_ns, ctx)
    if pulled is not None:
        return pulled, time_ns
    local = FleetStore(ctx.data_dir / "fleet")
    if local.exists():
        return local.log_path(incident.robot_id, incident.log_name), time_ns
    raise InvalidRequestError(
        f"no log covering incident {incident.incident_id} is here: pull its window first "
        f"(into {ctx.data_dir / 'pulled' / incident.robot_id}) or pass log_path"
    )


@toolset.tool("generate_scenarios")
def generate_scenarios(
    request: GenerateScenariosRequest, ctx: ToolContext
) -> GenerateScenariosResult:
    """Turn a triaged incident into simulation scenarios: the incident rebuilt from its log
    (robot pose, lane, direction, the diagnosed hazard) plus procedural variants and the edge
    cases of the hazard's parameters, written as YAML files. Use after triage, before a campaign;
    the log and time are found from the incident id when not given.
    """
    log_path, time_ns = locate_incident(request, ctx)
    family = generate_family(
        FamilyRequest(
            incident_id=request.incident_id,
            robot_id=request.robot_id,
            log_path=log_path,
            time_ns=time_ns,
            cause=request.cause,
            variants=request.variants,
            seed=request.seed,
            duration_s=request.duration_s,
        )
    )
    directory = (
        Path(request.out_dir) if request.out_dir else ctx.data_dir / "scenarios" / family.name
    )
    paths = write_scenarios(family.scenarios, directory)
    refs = [
        ScenarioRef(scenario_id=s.scenario_id, sha256=s.sha256(), tags=s.tags, file=str(p))
        for s, p in zip(family.scenarios, paths, strict=True)
    ]
    return GenerateScenariosResult(
        family=family.name, directory=str(directory), count=len(refs), scenarios=refs
    )
