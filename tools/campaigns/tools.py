"""The campaign tool: run scenario files under one or more policy versions, resumably."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from robotops.errors import ConfigError
from robotops.sim.campaign.models import CampaignRequest, PolicySummary
from robotops.sim.campaign.policies import resolve_policy
from robotops.sim.campaign.runner import run_campaign as run_campaign_
from robotops.sim.campaign.store import CampaignStore
from robotops.sim.scenarios.io import load_scenarios
from robotops.tools.context import ToolContext
from robotops.tools.toolset import Toolset

toolset = Toolset("campaigns")


class RunCampaignRequest(BaseModel):
    """Scenarios (a directory or file) x policy versions; an existing campaign id resumes."""

    campaign_id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    scenario_dir: str
    policies: list[str] = Field(min_length=1, description="versions, e.g. ['v2', 'v1']")
    weights: dict[str, str] = Field(
        default_factory=dict, description="version -> weights file, for versions not published"
    )
    fleet_dir: str | None = Field(None, description="default DATA_DIR/fleet")
    workers: int = Field(0, ge=0, description="worker processes; 0 = settings or CPU count")
    repeats: int = Field(1, ge=1, le=1000, description="seeds per scenario")


class RunCampaignResult(BaseModel):
    """Per-policy summaries of a campaign, and what ran now, was skipped or failed."""

    campaign_id: str
    total: int
    ok: int
    failed: int
    ran_now: int
    skipped: int
    wall_s: float
    policies: dict[str, PolicySummary]
    skipped_files: list[str] = Field(default_factory=list, description="malformed scenario files")


@toolset.tool("run_campaign")
def run_campaign(request: RunCampaignRequest, ctx: ToolContext) -> RunCampaignResult:
    """Run every scenario under every given policy version in the simulator (isolated worker
    processes, results stored as they finish, a repeated call resumes without rerunning), and
    summarise per policy. Use to compare a candidate policy with the incumbent before the judge.
    """
    fleet_dir = Path(request.fleet_dir) if request.fleet_dir else ctx.data_dir / "fleet"
    refs = [
        resolve_policy(v, fleet_dir, Path(request.weights[v]) if v in request.weights else None)
        for v in request.policies
    ]
    loaded = load_scenarios(Path(request.scenario_dir), skip_bad=True)
    if not loaded.scenarios:
        raise ConfigError(f"no loadable scenarios in {request.scenario_dir}: {loaded.errors[:3]}")
    summary = run_campaign_(
        CampaignRequest(
            campaign_id=request.campaign_id,
            scenarios=loaded.scenarios,
            policies=refs,
            workers=request.workers,
            repeats=request.repeats,
        ),
        CampaignStore.from_settings(ctx.settings),
        settings=ctx.settings,
    )
    return RunCampaignResult(**summary.model_dump(exclude={"pending"}), skipped_files=loaded.errors)
