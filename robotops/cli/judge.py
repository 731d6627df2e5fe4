"""``robotops judge`` and ``robotops golden ...``: the validation verdict and the frozen suite."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from robotops.cli.base import JsonOpt, app, clean_errors, console, emit_json

golden_app = typer.Typer(
    help="The golden regression suite: frozen, versioned scenarios that must not regress.",
    no_args_is_help=True,
)
app.add_typer(golden_app, name="golden")


@app.command("judge")
@clean_errors
def judge_cmd(
    campaign: Annotated[str, typer.Option("--campaign", help="Campaign id with both policies.")],
    candidate: Annotated[str, typer.Option("--candidate", help="Candidate policy version.")],
    incumbent: Annotated[str, typer.Option("--incumbent", help="Incumbent policy version.")],
    golden: Annotated[
        int | None,
        typer.Option("--golden", help="Golden suite version whose runs are in the campaign."),
    ] = None,
    golden_campaign: Annotated[
        str | None,
        typer.Option("--golden-campaign", help="Campaign holding the golden runs, if separate."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Report folder (default DATA_DIR/judge/...).")
    ] = None,
    min_runs: Annotated[int, typer.Option(min=1, help="Finished runs needed per policy.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Candidate vs incumbent: deltas with 95% intervals, safety gate, verdict and report."""
    from robotops.settings import get_settings
    from robotops.tools.context import ToolContext
    from robotops.tools.judge.models import JudgeCandidateRequest, JudgeConfig
    from robotops.tools.judge.tools import judge_candidate

    request = JudgeCandidateRequest(
        campaign_id=campaign,
        candidate_version=candidate,
        incumbent_version=incumbent,
        golden_version=golden,
        golden_campaign_id=golden_campaign,
        out_dir=str(out) if out else None,
        config=JudgeConfig(min_runs=min_runs),
    )
    with console.status("judging (rendering frames of the worst runs)"):
        result = judge_candidate(request, ToolContext(get_settings(), actor="cli"))
    if as_json:
        emit_json(result)
        return
    v = result.verdict
    colour = {"promote": "green", "reject": "red"}.get(v.verdict, "yellow")
    console.print(f"[{colour}]{v.verdict}[/{colour}]: {candidate} vs {incumbent}")
    for reason in v.reasons:
        console.print(f"  - {reason}")
    console.print(f"report: {result.report_path}")


@golden_app.command("show")
@clean_errors
def show_cmd(
    version: Annotated[int | None, typer.Option("--version", help="Default: latest.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a golden suite version (verified against its hashes) and its cases."""
    from robotops.tools.judge.golden import load_suite

    suite = load_suite(version)
    if as_json:
        emit_json(suite)
        return
    table = Table(title=f"golden v{suite.version}  sha256 {suite.sha256[:16]}  ({suite.reason})")
    for col in ("case", "safety", "must stop", "added", "source", "why"):
        table.add_column(col)
    for c in suite.cases:
        src = f"{c.source.incident_id} log {c.source.log_sha256[:12]}" if c.source else "-"
        table.add_row(
            c.scenario_id,
            "yes" if c.safety else "",
            "yes" if c.must_stop else "",
            f"v{c.added_in} by {c.promoted_by}",
            src,
            c.why,
        )
    console.print(table)


@golden_app.command("promote")
@clean_errors
def promote_cmd(
    scenarios: Annotated[
        list[Path],
        typer.Option("--scenarios", help="Scenario file or folder (YAML or JSON); repeatable."),
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why these belong in the suite.")],
    by: Annotated[str, typer.Option("--by", help="Who promotes them (audited).")],
    safety: Annotated[
        bool, typer.Option("--safety", help="Hard safety gates: failing one blocks promotion.")
    ] = False,
    must_stop: Annotated[
        bool, typer.Option("--must-stop", help="Real obstacle or person: the robot must stop.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Freeze a new suite version = the latest + these scenarios; writes an audit entry."""
    from robotops.sim.scenarios.io import load_scenario, scenario_files
    from robotops.tools.judge.golden import promote

    specs = [load_scenario(f) for p in scenarios for f in scenario_files(p)]
    suite = promote(specs, by, reason, safety=safety, must_stop=must_stop)
    if as_json:
        emit_json(suite)
        return
    console.print(
        f"golden v{suite.version} frozen ({len(suite.cases)} cases, sha256 {suite.sha256[:16]})"
    )
