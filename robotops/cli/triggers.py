"""``robotops triggers test RULES LOG``: what a rule file would flag in a log, before using it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from robotops.cli.base import JsonOpt, app, clean_errors, emit_json

triggers_app = typer.Typer(help="Trigger rules: what makes an incident.", no_args_is_help=True)
app.add_typer(triggers_app, name="triggers")


def _clock(ns: int) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(ns / 1e9)) + f".{ns // 1_000_000 % 1000:03d}"


@triggers_app.command("test")
@clean_errors
def test_cmd(
    rules: Annotated[Path, typer.Argument(help="A YAML rules file ('default': the built-in one).")],
    log: Annotated[
        Path, typer.Argument(help="An MCAP, a ROS 2 bag (folder or .db3), a ROS 1 bag.")
    ],
    as_json: JsonOpt = False,
) -> None:
    """Run the rules over the log and print every incident they fire, with time and channel."""
    from robotops.tools.triggers.rules import load_rules
    from robotops.tools.triggers.run import run_rules

    ruleset = load_rules(None if str(rules) == "default" else rules)
    fired = run_rules(log, ruleset)
    if as_json:
        emit_json([{**f.__dict__} for f in fired])
        return
    if not fired:
        typer.echo(f"no rule of {len(ruleset.rules)} fired on {log}")
        return
    for f in fired:
        typer.echo(f"{_clock(f.time_ns)}  {f.kind:<16} {f.rule:<18} {f.topic}  {f.detail}")
