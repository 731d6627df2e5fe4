"""``robotops scenarios ...`` and ``robotops campaign ...``: from an incident to many runs."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from robotops.cli.base import JsonOpt, app, clean_errors, console, emit_json, resolve_fleet_dir
from robotops.errors import ConfigError
from robotops.settings import get_settings

scenarios_app = typer.Typer(
    help="Scenarios: rebuild incidents from their logs into scenario families; show them.",
    no_args_is_help=True,
)
campaign_app = typer.Typer(
    help="Campaigns: run scenarios x policies in the simulator, resumably.", no_args_is_help=True
)
app.add_typer(scenarios_app, name="scenarios")
app.add_typer(campaign_app, name="campaign")

FleetDirOpt = Annotated[
    Path | None, typer.Option("--fleet-dir", help="Fleet directory (default: DATA_DIR/fleet).")
]


def _incident_source(incident: str, fleet_dir: Path | None) -> tuple[str, Path, int, str]:
    """(robot id, log path, time, kind) of a fleet incident, from the fleet directory."""
    from robotops.errors import NotFoundError
    from robotops.sim.fleet.state import FleetStore

    store = FleetStore(resolve_fleet_dir(fleet_dir))
    found = {i.incident_id: i for i in store.incidents()}
    if incident not in found:
        raise NotFoundError("incident", incident, sorted(found))
    inc = found[incident]
    return inc.robot_id, store.log_path(inc.robot_id, inc.log_name), inc.time_ns, inc.kind


def _diagnosed_cause(log: Path, time_ns: int, kind: str) -> str:
    from robotops.tools.triage.diagnose import diagnose_incident
    from robotops.tools.triage.models import DiagnoseRequest

    with console.status("triaging the incident to find its cause"):
        cause = diagnose_incident(
            DiagnoseRequest(log_path=str(log), time_ns=time_ns, kind=kind)
        ).cause
    if cause == "unknown":
        raise ConfigError("triage found no cause for this incident: pass --cause explicitly")
    return cause


@scenarios_app.command("generate")
@clean_errors
def generate_cmd(
    incident: Annotated[
        str | None, typer.Option("--incident", help="Incident id from the fleet.")
    ] = None,
    fleet_dir: FleetDirOpt = None,
    log: Annotated[Path | None, typer.Option(help="Log to rebuild from (no --incident).")] = None,
    time_ns: Annotated[int | None, typer.Option(help="Incident time, ns (with --log).")] = None,
    robot: Annotated[str, typer.Option(help="Robot id (with --log).")] = "unknown",
    cause: Annotated[
        str | None,
        typer.Option(help="glare, shadow, oil, latency, real_obstacle; default: run triage."),
    ] = None,
    variants: Annotated[int, typer.Option(help="Procedural variants besides the incident.")] = 16,
    seed: Annotated[int, typer.Option(help="Seed for sampling and the scenarios.")] = 0,
    duration: Annotated[float, typer.Option(help="Simulated seconds per scenario.")] = 20.0,
    out: Annotated[
        Path | None, typer.Option(help="Directory (default DATA_DIR/scenarios/..).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Rebuild an incident from its log into a scenario family (one YAML file per scenario)."""
    from robotops.tools.context import ToolContext
    from robotops.tools.scenarios.tools import GenerateScenariosRequest, generate_scenarios

    if incident:
        robot, log, time_ns, kind = _incident_source(incident, fleet_dir)
    elif log is None or time_ns is None:
        raise ConfigError("give --incident ID, or --log PATH with --time-ns")
    else:
        incident, kind = f"{log.stem}-{time_ns}", "stall"
    result = generate_scenarios(
        GenerateScenariosRequest(
            incident_id=incident,
            robot_id=robot,
            log_path=str(log),
            time_ns=time_ns,
            cause=cause or _diagnosed_cause(log, time_ns, kind),
            variants=variants,
            seed=seed,
            duration_s=duration,
            out_dir=str(out) if out else None,
        ),
        ToolContext(get_settings()),
    )
    if as_json:
        emit_json(result)
        return
    console.print(f"{result.count} scenarios of family {result.family} in {result.directory}")
    for ref in result.scenarios[:10]:
        console.print(f"  {ref.scenario_id}  {ref.sha256[:12]}  {','.join(ref.tags)}")
    if result.count > 10:
        console.print(f"  ... and {result.count - 10} more")


@scenarios_app.command("show")
@clean_errors
def show_cmd(
    file: Annotated[Path, typer.Argument(help="A scenario file (YAML or JSON).")],
    as_json: JsonOpt = False,
) -> None:
    """Validate a scenario file and print it with its content hash."""
    from robotops.sim.scenarios.io import dump_scenario, load_scenario

    spec = load_scenario(file)
    if as_json:
        emit_json({"sha256": spec.sha256(), "scenario": spec.model_dump(mode="json")})
        return
    console.print(f"[bold]{spec.scenario_id}[/bold]  sha256 {spec.sha256()}")
    typer.echo(dump_scenario(spec))


def _default_campaign_id(scenario_shas: list[str], policy_shas: list[str], repeats: int) -> str:
    """Same scenarios, policies and repeats -> same id, so rerunning a command resumes it."""
    key = "|".join(sorted(scenario_shas)) + "#" + "|".join(policy_shas) + f"#{repeats}"
    return "c-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def _parse_weights(items: list[str]) -> dict[str, Path]:
    out = {}
    for item in items:
        version, sep, path = item.partition("=")
        if not sep or not version or not path:
            raise ConfigError(f"--weights {item!r}: expected VERSION=PATH")
        out[version] = Path(path)
    return out


@campaign_app.command("run")
@clean_errors
def run_cmd(
    scenarios: Annotated[Path, typer.Option(help="Scenario file or directory.")],
    policy: Annotated[str, typer.Option(help="Candidate policy version.")],
    vs: Annotated[str | None, typer.Option(help="Incumbent policy version to compare.")] = None,
    weights: Annotated[
        list[str] | None, typer.Option(help="VERSION=PATH for unpublished weights; repeatable.")
    ] = None,
    workers: Annotated[int, typer.Option(help="Worker processes; 0 = settings or CPUs.")] = 0,
    repeats: Annotated[int, typer.Option(help="Seeds per scenario.")] = 1,
    campaign: Annotated[
        str | None, typer.Option(help="Campaign id; an existing one resumes.")
    ] = None,
    skip_bad: Annotated[bool, typer.Option(help="Skip malformed scenario files.")] = False,
    fleet_dir: FleetDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run every scenario under each policy; a killed campaign resumes where it stopped."""
    from robotops.sim.campaign.models import CampaignRequest
    from robotops.sim.campaign.policies import resolve_policy
    from robotops.sim.campaign.runner import run_campaign
    from robotops.sim.campaign.store import CampaignStore
    from robotops.sim.scenarios.io import load_scenarios

    settings = get_settings()
    explicit = _parse_weights(weights or [])
    versions = [policy] + ([vs] if vs else [])
    refs = [resolve_policy(v, resolve_fleet_dir(fleet_dir), explicit.get(v)) for v in versions]
    loaded = load_scenarios(scenarios, skip_bad=skip_bad)
    for err in loaded.errors:
        console.print(f"[yellow]skipped:[/yellow] {err}")
    if not loaded.scenarios:
        raise ConfigError(f"no scenarios to run in {scenarios}")
    cid = campaign or _default_campaign_id(
        [s.sha256() for s in loaded.scenarios], [r.sha256 for r in refs], repeats
    )
    req = CampaignRequest(
        campaign_id=cid,
        scenarios=loaded.scenarios,
        policies=refs,
        workers=workers,
        repeats=repeats,
    )
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeRemainingColumn(), console=console, transient=True) as bar:
        task = bar.add_task(f"campaign {cid}", total=len(req.jobs()))

        def progress(result, done: int, total: int) -> None:  # noqa: ANN001
            bar.update(task, completed=done, total=total)
            if result.status == "failed":
                who = f"{result.scenario_id} x {result.policy_version}"
                console.print(f"[red]failed[/red] {who}: {result.error}")

        summary = run_campaign(
            req, CampaignStore.from_settings(settings), progress, settings=settings
        )
    _report(summary, as_json)


def _report(summary, as_json: bool) -> None:  # noqa: ANN001
    if as_json:
        emit_json(summary)
        return
    console.print(
        f"campaign {summary.campaign_id}: {summary.ok} ok, {summary.failed} failed, "
        f"{summary.pending} pending of {summary.total} (ran {summary.ran_now} now, "
        f"{summary.skipped} already done, {summary.wall_s:.0f} s)"
    )
    table = Table()
    for col in (
        "policy",
        "runs",
        "ok",
        "reached goal",
        "phantom stops",
        "collisions",
        "mean stall s",
        "min people m",
    ):
        table.add_column(col, justify="right")
    for p in summary.policies.values():
        table.add_row(
            p.version,
            str(p.runs),
            str(p.ok),
            str(p.reached_goal),
            str(p.phantom_stops),
            str(p.collisions),
            f"{p.mean_stall_time_s:.1f}",
            f"{p.min_clearance_people_m:.2f}",
        )
    console.print(table)


@campaign_app.command("status")
@clean_errors
def status_cmd(
    campaign_id: Annotated[str, typer.Argument(help="Campaign id.")],
    as_json: JsonOpt = False,
) -> None:
    """What a campaign has finished so far (works while it runs or after it was killed)."""
    from robotops.sim.campaign.runner import campaign_status
    from robotops.sim.campaign.store import CampaignStore

    _report(campaign_status(CampaignStore.from_settings(get_settings()), campaign_id), as_json)
