"""The judge's tools: ``judge_candidate`` judges a stored campaign (and a golden suite version),
writes the report and returns the verdict; ``golden_scenarios`` writes a golden suite version out
as scenario files for a campaign. Runs, scenarios and frames come from the campaign store."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, Field

from robotops.errors import NotFoundError
from robotops.sim.campaign.models import RunResult
from robotops.tools.context import ToolContext
from robotops.tools.judge.compare import judge
from robotops.tools.judge.golden import GoldenStore, GoldenSuite
from robotops.tools.judge.models import (
    JudgeCandidateRequest,
    JudgeCandidateResult,
    JudgeRequest,
    Verdict,
)
from robotops.tools.judge.report import FrameRenderer, verdict_worst_runs, write_report
from robotops.tools.judge.safety import runs_of_case
from robotops.tools.toolset import Toolset

if TYPE_CHECKING:
    from robotops.settings import Settings
    from robotops.sim.campaign.store import CampaignStore

ResultsLoader = Callable[[str], list[RunResult]]
"""Every stored run of a campaign, by campaign id."""


toolset = Toolset("judge")


@dataclass
class JudgeDeps:
    """Where the judge reads runs, golden suites and frames from."""

    results: ResultsLoader
    golden: GoldenStore
    render: FrameRenderer | None = None
    write_scenario: Callable[[RunResult, Path], Path] | None = None  # -> a readable file
    campaign_ids: Callable[[], list[str]] | None = None  # for "unknown campaign" errors

    @classmethod
    def from_settings(cls, settings: Settings) -> JudgeDeps:
        """Over the campaign store (robotops.sim.campaign.store) in the data dir."""
        from robotops.sim.campaign.store import CampaignStore

        store = CampaignStore.from_settings(settings)
        return cls(
            results=store.results,
            golden=GoldenStore.from_settings(settings),
            render=store_frame_renderer(store),
            write_scenario=store_scenario_writer(store),
            campaign_ids=store.campaign_ids,
        )


def store_frame_renderer(store: CampaignStore) -> FrameRenderer:
    """Replay a stored run to time t with the campaign's own policy weights and scenario."""

    def render(run: RunResult, t_s: float) -> np.ndarray:
        from robotops.sim.campaign.runner import render_frame_at

        _, policies = store.campaign(run.campaign_id)
        ref = next((p for p in policies if p.version == run.policy_version), None)
        if ref is None:
            known = [p.version for p in policies]
            raise NotFoundError(f"policy of campaign {run.campaign_id}", run.policy_version, known)
        spec = store.scenario(run.scenario_sha256)
        return render_frame_at(spec, Path(ref.weights_path), ref.sha256, run.seed, t_s)

    return render


def store_scenario_writer(store: CampaignStore) -> Callable[[RunResult, Path], Path]:
    """A writer of a stored run's scenario as a readable file, for the report's worst runs."""

    def write(run: RunResult, directory: Path) -> Path:
        from robotops.sim.scenarios.io import write_scenarios

        return write_scenarios([store.scenario(run.scenario_sha256)], directory)[0]

    return write


def split_golden(runs: list[RunResult], suite: GoldenSuite) -> tuple[list, list]:
    """(runs of golden cases, the other runs)."""
    golden_ids = {r.run_id for case in suite.cases for r in runs_of_case(case, runs)}
    return [r for r in runs if r.run_id in golden_ids], [
        r for r in runs if r.run_id not in golden_ids
    ]


def scenario_links(
    req: JudgeRequest, verdict: Verdict, out_dir: Path, deps: JudgeDeps, worst: int
) -> dict[str, str]:
    """Relative links from the report to a file of each scenario it names."""
    links: dict[str, str] = {}
    if req.golden is not None:
        suite_file = deps.golden.path(req.golden.version)
        for case in req.golden.cases:
            links[case.scenario_id] = os.path.relpath(suite_file, out_dir)
    if deps.write_scenario is None:
        return links
    by_id = {r.run_id: r for r in req.campaign_runs + req.golden_runs}
    refs = verdict.new_collisions + verdict.missed_people + verdict.golden_regressions
    named = [by_id[ref.run_id] for ref in refs + verdict.failed_runs if ref.run_id in by_id]
    named += verdict_worst_runs(verdict, req.campaign_runs + req.golden_runs, worst)
    for run in named:
        if run.scenario_id not in links:
            path = deps.write_scenario(run, out_dir / "scenarios")
            links[run.scenario_id] = os.path.relpath(path, out_dir)
    return links


def judge_stored(
    request: JudgeCandidateRequest, deps: JudgeDeps, default_dir: Path, worst: int = 3
) -> JudgeCandidateResult:
    """Load the runs, judge, and write the report (the tool's body, with deps explicit)."""
    runs = deps.results(request.campaign_id)
    if not runs:
        known = deps.campaign_ids() if deps.campaign_ids else []
        raise NotFoundError("campaign with finished runs", request.campaign_id, known)
    suite = golden_runs = None
    campaign_runs = runs
    if request.golden_version is not None:
        suite = deps.golden.load(request.golden_version)
        source = runs
        if request.golden_campaign_id not in (None, request.campaign_id):
            source = deps.results(request.golden_campaign_id)
        golden_runs, rest = split_golden(source, suite)
        if source is runs:
            campaign_runs = rest
    req = JudgeRequest(
        candidate_version=request.candidate_version,
        incumbent_version=request.incumbent_version,
        campaign_runs=campaign_runs,
        golden_runs=golden_runs or [],
        golden=suite,
        config=request.config,
    )
    verdict = judge(req)
    out_dir = Path(request.out_dir) if request.out_dir else default_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    links = scenario_links(req, verdict, out_dir, deps, worst)
    write_report(verdict, req.campaign_runs, req.golden_runs, out_dir, deps.render, links, worst)
    return JudgeCandidateResult(
        verdict=verdict, report_dir=str(out_dir), report_path=str(out_dir / "report.md")
    )


@toolset.tool("judge_candidate")
def judge_candidate(request: JudgeCandidateRequest, ctx: ToolContext) -> JudgeCandidateResult:
    """Judge a candidate policy against the incumbent on a finished simulation campaign (and a
    golden regression suite version): per-metric deltas with 95% intervals, a hard safety gate,
    and a verdict (promote / reject / needs_more_data) with a markdown+PNG report. Use it after
    a campaign has run both policies, before asking for any rollout approval."""
    deps = JudgeDeps.from_settings(ctx.settings)
    pair = f"{request.candidate_version}-vs-{request.incumbent_version}"
    name = request.campaign_id if pair in request.campaign_id else f"{request.campaign_id}-{pair}"
    return judge_stored(request, deps, ctx.data_dir / "judge" / name)


class GoldenScenariosRequest(BaseModel):
    """Which golden suite version to write out as scenario files for a campaign."""

    version: int | None = Field(None, ge=1, description="default: the latest")
    out_dir: str | None = Field(None, description="default DATA_DIR/golden/scenarios/v<N>")


class GoldenScenariosResult(BaseModel):
    """Where the golden suite's scenario files were written, and which cases are safety cases."""

    version: int
    sha256: str
    directory: str
    scenario_ids: list[str]
    safety_ids: list[str]


@toolset.tool("golden_scenarios")
def golden_scenarios(request: GoldenScenariosRequest, ctx: ToolContext) -> GoldenScenariosResult:
    """Write a verified golden regression suite version (the latest by default) as scenario files,
    so run_campaign can run both policies on it and judge_candidate can gate on its safety cases.
    Use before judging a candidate; a tampered suite is refused."""
    from robotops.sim.scenarios.io import write_scenarios

    suite = GoldenStore.from_settings(ctx.settings).load(request.version)
    default = ctx.data_dir / "golden" / "scenarios" / f"v{suite.version:04d}"
    out = Path(request.out_dir) if request.out_dir else default
    write_scenarios(suite.scenarios(), out)
    return GoldenScenariosResult(
        version=suite.version,
        sha256=suite.sha256,
        directory=str(out),
        scenario_ids=[c.scenario_id for c in suite.cases],
        safety_ids=[c.scenario_id for c in suite.safety_cases()],
    )
