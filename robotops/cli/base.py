"""What every command module shares: the app, its groups, clean errors, ``--json`` output.

Every command has ``--help``; every command whose output a script would read has ``--json``.
Errors robotops raises on purpose print one clear line and exit 2, never a traceback.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console

from robotops.errors import RobotOpsError
from robotops.settings import get_settings

app = typer.Typer(help="robotops: an agentic data flywheel for robot fleets.", no_args_is_help=True)
fleet_app = typer.Typer(
    help="The fleet: simulate shifts, serve the fleet API, query it.", no_args_is_help=True
)
policies_app = typer.Typer(
    help="Policy versions: train the baseline, list what exists.", no_args_is_help=True
)
app.add_typer(fleet_app, name="fleet")
app.add_typer(policies_app, name="policies")

console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]


def clean_errors(fn: F) -> F:
    """Turn a RobotOpsError into one line on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except RobotOpsError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def emit_json(payload: Any) -> None:
    if isinstance(payload, BaseModel):
        payload = payload.model_dump(mode="json")
    elif isinstance(payload, list):
        payload = [p.model_dump(mode="json") if isinstance(p, BaseModel) else p for p in payload]
    typer.echo(json.dumps(payload, indent=2, sort_keys=True))


def fleet_dir_option() -> Any:
    return typer.Option(None, "--dir", help="Fleet directory (default: DATA_DIR/fleet).")


def resolve_fleet_dir(path: Path | None) -> Path:
    return path if path is not None else get_settings().data_dir / "fleet"


@app.command()
def version(as_json: JsonOpt = False) -> None:
    """Print the robotops version."""
    from robotops import __version__

    emit_json({"version": __version__}) if as_json else typer.echo(__version__)
