"""``robotops fleet ...``: simulate shifts, serve the fleet API, query a fleet through its API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from robotops.cli.base import (
    JsonOpt,
    clean_errors,
    console,
    emit_json,
    fleet_app,
    resolve_fleet_dir,
)
from robotops.settings import get_settings


@fleet_app.command("simulate")
@clean_errors
def simulate(
    robots: Annotated[int, typer.Option(help="Fleet size; robot ids start at 101.")] = 8,
    minutes: Annotated[float, typer.Option(help="Shift length in simulated minutes.")] = 4.0,
    seed: Annotated[int, typer.Option(help="Seed for hazard placement and noise.")] = 0,
    hazards: Annotated[
        str, typer.Option(help="Comma list: glare,shadow,oil,latency,obstacle; '' for none.")
    ] = "glare,shadow,oil,latency,obstacle",
    out: Annotated[
        Path | None, typer.Option("--out", help="Fleet directory (default: DATA_DIR/fleet).")
    ] = None,
    workers: Annotated[int, typer.Option(help="Processes; 0 = one per CPU.")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Run one shift of the simulated warehouse fleet; each robot leaves an MCAP log on board."""
    from robotops.sim.fleet.shift import ShiftConfig, run_shift

    config = ShiftConfig(
        robots=robots,
        minutes=minutes,
        seed=seed,
        site=get_settings().site,
        hazards=[h for h in hazards.split(",") if h.strip()],
        workers=workers,
    )
    root = resolve_fleet_dir(out)
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task(f"simulating {robots} robots x {minutes:g} min", total=robots)
        summary = run_shift(root, config, progress=lambda _rid: bar.advance(task))
    if as_json:
        emit_json(summary)
        return
    table = Table(title=f"{summary.shift_id} in {root}")
    for col in ("robot", "distance m", "missions", "stalls", "estops", "collisions", "nav errors"):
        table.add_column(col, justify="right")
    for rid, m in summary.per_robot.items():
        table.add_row(
            f"#{rid}",
            f"{m['distance_m']:.0f}",
            *(str(int(m[k])) for k in ("missions", "stalls", "estops", "collisions", "nav_errors")),
        )
    console.print(table)
    console.print(
        f"{len(summary.incidents)} incidents, "
        f"{summary.bytes_logged / 1e6:.1f} MB logged on the robots"
    )


@fleet_app.command("serve")
@clean_errors
def serve(
    fleet_dir: Annotated[
        Path | None, typer.Option("--dir", help="Fleet directory (default: DATA_DIR/fleet).")
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8765,
) -> None:
    """Serve the simulated fleet's HTTP API (robots, incidents, logs, uploads, deploy)."""
    from robotops.sim.fleet.service import serve_fleet

    serve_fleet(resolve_fleet_dir(fleet_dir), host, port)


def _client():
    from robotops.tools.fleet.client import FleetClient

    return FleetClient.from_settings(get_settings())


@fleet_app.command("robots")
@clean_errors
def robots_cmd(as_json: JsonOpt = False) -> None:
    """List the fleet's robots through the fleet API (ROBOTOPS_FLEET__URL)."""
    with _client() as fleet:
        robots = fleet.robots()
    if as_json:
        emit_json(robots)
        return
    for r in robots:
        typer.echo(f"#{r.robot_id}  {r.zone:8s} {r.policy_version:6s} {r.status}")


@fleet_app.command("incidents")
@clean_errors
def incidents_cmd(
    robot: Annotated[str | None, typer.Option(help="Only this robot.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List incidents the robots flagged, through the fleet API."""
    with _client() as fleet:
        incidents = fleet.incidents(robot_id=robot)
    if as_json:
        emit_json(incidents)
        return
    for i in incidents:
        typer.echo(f"{i.incident_id}  #{i.robot_id}  {i.kind:10s} {i.detail}")
