"""``robotops incidents list``: incidents the catalog knows, from the fleet, edge or ingest."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from robotops.cli.base import JsonOpt, app, clean_errors, emit_json
from robotops.settings import get_settings

incidents_app = typer.Typer(help="Incidents, whatever their source.", no_args_is_help=True)
app.add_typer(incidents_app, name="incidents")


@incidents_app.command("list")
@clean_errors
def list_cmd(
    robot: Annotated[str | None, typer.Option(help="Only this robot.")] = None,
    source: Annotated[str | None, typer.Option(help="Only fleet, edge or ingest.")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Incidents in time order: robot, kind, time, source, channel, and the cause once triaged."""
    from robotops.memory.catalog import Catalog

    with Catalog.from_settings(get_settings()) as catalog:
        rows = catalog.incidents(robot_id=robot, source=source, limit=limit)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        typer.echo("no incidents" + (f" for robot {robot}" if robot else ""))
        return
    for row in rows:
        clock = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(row.time_ns / 1e9))
        cause = f"  cause {row.cause}" if row.cause else ""
        typer.echo(
            f"{clock}  {row.robot_id or '?':<10} {row.kind:<16} {row.source:<7} "
            f"{row.topic}  {row.detail}{cause}"
        )
