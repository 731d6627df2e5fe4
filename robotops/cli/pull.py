"""``robotops fleet pull``: bring a robot's incidents home over its link, within a budget."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

from robotops.cli.base import JsonOpt, clean_errors, console, emit_json, fleet_app
from robotops.errors import ConfigError, FleetUnavailableError
from robotops.settings import get_settings

IncidentsOpt = Annotated[
    bool,
    typer.Option(
        "--incidents/--no-incidents",
        help="Incident windows first at full fidelity (default), or thinned context only.",
    ),
]
BudgetOpt = Annotated[
    float | None, typer.Option("--budget-mb", help="Most megabytes (10^6 bytes) to send.")
]
DeadlineOpt = Annotated[
    float | None, typer.Option("--deadline-s", help="Most seconds of link time to use.")
]
ContextOpt = Annotated[
    float | None, typer.Option("--context-mb", help="Cap on thinned context, MB.")
]
LogOpt = Annotated[
    str | None, typer.Option("--log", help="Only this log (default: all of the robot's logs).")
]
OutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out", help="Folder for the MCAPs and plan.json (default: DATA_DIR/pulled/ROBOT)."
    ),
]


@fleet_app.command("pull")
@clean_errors
def pull_cmd(
    robot: Annotated[str, typer.Argument(help="Robot id, e.g. 104.")],
    incidents: IncidentsOpt = True,
    budget_mb: BudgetOpt = None,
    deadline_s: DeadlineOpt = None,
    context_mb: ContextOpt = None,
    log: LogOpt = None,
    pre_s: Annotated[float, typer.Option(help="Seconds kept before each incident.")] = 8.0,
    post_s: Annotated[float, typer.Option(help="Seconds kept after each incident.")] = 4.0,
    out: OutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Plan on the robot what to send within a budget, then fetch it resumably over the fleet API.

    Incident windows (stall, estop, collision, nav_error) go first, at full fidelity.
    Thinned context (decimated telemetry, thumbnails) fills the rest of the budget.
    What does not fit stays on the robot and is listed in plan.json.
    Run the same command again to resume an interrupted pull.
    """
    from robotops.tools.fleet.client import FleetClient
    from robotops.tools.fleet.pull import PullInterruptedError, PullRequest, pull

    if budget_mb is None and deadline_s is None:
        raise ConfigError("say how much may cross the link: give --budget-mb, --deadline-s or both")
    settings = get_settings()
    request = PullRequest(
        robot_id=robot,
        out_dir=out if out is not None else settings.data_dir / "pulled" / robot,
        budget_bytes=None if budget_mb is None else max(int(budget_mb * 1e6), 1),
        deadline_s=deadline_s,
        context_budget_bytes=None if context_mb is None else int(context_mb * 1e6),
        incidents=incidents,
        log_name=log,
        pre_s=pre_s,
        post_s=post_s,
    )
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
    )
    bar = Progress(*columns, console=console, transient=True)
    with FleetClient.from_settings(settings) as fleet, bar:
        tasks: dict[str, object] = {}

        def progress(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name[-48:], total=total)
            bar.update(tasks[name], completed=done)  # type: ignore[arg-type]

        try:
            result = pull(request, fleet, progress)
        except PullInterruptedError:
            raise
        except FleetUnavailableError as exc:
            raise FleetUnavailableError(
                f"{exc}; is the fleet API running (`robotops fleet serve`) at the URL in "
                "ROBOTOPS_FLEET__URL?"
            ) from exc
    if as_json:
        emit_json(result)
        return
    _print(result)


def _print(result) -> None:
    plan = result.plan
    several = len(plan.logs) > 1
    table = Table(title=f"#{result.robot_id} -> {result.out_dir}")
    for col in ("", "what", *(["log"] if several else []), "window (UTC)", "MB", "note"):
        table.add_column(col)
    files = {f.item: f for f in result.files}
    marks = {
        "downloaded": "[green]sent",
        "already_present": "[green]had",
        "skipped_budget": "[yellow]skip",
        "pending": "[red]todo",
    }
    for n, item in enumerate(plan.items):
        got = files.get(n)
        mark = marks[got.status] if got else "[dim]left"
        what = f"{item.role} {'full' if item.fidelity == 'full' else 'thin'}"
        size = got.size_bytes if got and got.size_bytes else item.estimated_bytes
        note = ", ".join([*(e.kind for e in item.events), *([item.note] if item.note else [])])
        window = f"{_clock(item.start_ns)}-{_clock(item.end_ns)}"
        table.add_row(
            mark, what, *([item.log_name] if several else []), window, f"{size / 1e6:.2f}", note
        )
    console.print(table)
    typer.echo(
        f"incidents: {plan.incidents_full} of {plan.incidents_total} at full fidelity"
        + (f", {plan.incidents_reduced} thinned" if plan.incidents_reduced else "")
        + (f", {plan.incidents_left} not sent" if plan.incidents_left else "")
    )
    typer.echo(
        f"sent {result.bytes_on_disk / 1e6:.2f} MB of a {plan.budget_bytes / 1e6:.2f} MB budget "
        f"({result.transferred_bytes / 1e6:.2f} MB over the link this run); "
        f"{plan.left_bytes / 1e6:.2f} MB stays on the robot, listed in {result.plan_path}"
    )
    for warning in plan.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")


def _clock(ns: int) -> str:
    return dt.datetime.fromtimestamp(ns / 1e9, dt.UTC).strftime("%H:%M:%S.%f")[:-5]
