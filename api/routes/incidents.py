"""Incidents and robots the catalog knows, whatever their source (fleet, edge, ingest)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from robotops.api.deps import Deps, Viewer
from robotops.memory.catalog import IncidentPublic, RobotPublic

router = APIRouter(tags=["incidents"])
Source = Annotated[str | None, Query(pattern="^(fleet|edge|ingest)$")]


class IncidentList(BaseModel):
    incidents: list[IncidentPublic]


class RobotList(BaseModel):
    robots: list[RobotPublic]


@router.get("/incidents")
def list_incidents(
    deps: Deps,
    _: Viewer,
    robot: str | None = None,
    source: Source = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> IncidentList:
    """Incidents in time order, each with its source and, once triaged, its cause."""
    catalog = deps.ingest.catalog
    return IncidentList(incidents=catalog.incidents(robot_id=robot, source=source, limit=limit))


@router.get("/robots")
def list_robots(deps: Deps, _: Viewer) -> RobotList:
    """Every robot the catalog has heard of, with where it was first heard of."""
    return RobotList(robots=deps.ingest.catalog.robots())
