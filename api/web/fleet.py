"""The fleet page (which robot runs which policy, recent incidents, rollouts) and the campaign
pages (metric distributions per policy, and the judge's verdict)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from robotops.api.deps import Deps
from robotops.api.web import data
from robotops.api.web.plots import distributions_png
from robotops.api.web.render import PageRoute, page
from robotops.api.web.session import PageViewer
from robotops.errors import FleetUnavailableError, NotFoundError
from robotops.tools.fleet.client import FleetClient

router = APIRouter(prefix="/ui", route_class=PageRoute, include_in_schema=False)
METRICS = (
    "stall_time_s",
    "time_to_goal_s",
    "phantom_stops",
    "collisions",
    "min_clearance_people_m",
    "min_clearance_obstacles_m",
    "steering_reversals",
    "jerk_rms",
)
RECENT_INCIDENTS = 20


@router.get("/fleet")
def fleet_page(request: Request, deps: Deps, _: PageViewer) -> Response:
    robots, policies, incidents, down = [], [], [], None
    try:
        with FleetClient.from_settings(deps.settings) as fleet:
            robots, policies = fleet.robots(), fleet.policies()
            incidents = sorted(fleet.incidents(), key=lambda i: i.time_ns)[-RECENT_INCIDENTS:]
    except FleetUnavailableError as exc:
        down = str(exc)
    return page(
        request,
        "fleet.html",
        robots=robots,
        policies=policies,
        incidents=list(reversed(incidents)),
        down=down,
        fleet_url=deps.settings.fleet.url,
        rollouts=data.rollouts(deps.settings),
    )


@router.get("/campaigns")
def campaigns_page(request: Request, deps: Deps, _: PageViewer) -> Response:
    return page(request, "campaigns.html", campaigns=data.campaigns(deps.settings))


def _values(runs: list, metric: str) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for run in runs:
        value = getattr(run.metrics, metric, None) if run.metrics else None
        if value is not None:
            out.setdefault(run.policy_version, []).append(float(value))
    return out


@router.get("/campaigns/{campaign_id}")
def campaign_page(campaign_id: str, request: Request, deps: Deps, _: PageViewer) -> Response:
    runs = data.campaign_runs(deps.settings, campaign_id)
    if runs is None:
        raise NotFoundError("campaign", campaign_id, data.campaign_ids(deps.settings))
    values = {m: _values(runs, m) for m in METRICS}
    spread = [m for m, v in values.items() if len({x for xs in v.values() for x in xs}) > 1]
    constant = {m: next(iter(v.values()))[0] for m, v in values.items() if v and m not in spread}
    return page(
        request,
        "campaign.html",
        campaign_id=campaign_id,
        runs=runs,
        metrics=spread,
        constant=constant,
        verdicts=data.verdicts(deps.settings, campaign_id),
    )


@router.get("/campaigns/{campaign_id}/{metric}.png")
def campaign_plot(campaign_id: str, metric: str, deps: Deps, _: PageViewer) -> Response:
    if metric not in METRICS:
        raise NotFoundError("campaign metric", metric, list(METRICS))
    runs = data.campaign_runs(deps.settings, campaign_id)
    if runs is None:
        raise NotFoundError("campaign", campaign_id)
    return Response(distributions_png(metric, _values(runs, metric)), media_type="image/png")
