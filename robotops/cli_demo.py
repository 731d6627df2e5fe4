"""``robotops demo``: the main job on the embedded defaults, no network, keys or servers."""

from __future__ import annotations

from typing import Annotated

import typer

from robotops.cli import JsonOpt, app, clean_errors, console, emit_json
from robotops.settings import get_settings


@app.command()
@clean_errors
def demo(
    robots: Annotated[int, typer.Option(help="Fleet size (6 or more includes #104).")] = 8,
    minutes: Annotated[float, typer.Option(help="Simulated minutes per shift.")] = 4.0,
    seed: Annotated[int, typer.Option(help="Seed; the same seed gives the same figures.")] = 0,
    quick: Annotated[
        bool, typer.Option(help="Small and fast (for tests): 6 robots x 1.5 min.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run the flywheel demo on the simulated warehouse fleet and write a report."""
    from robotops.demo import run_demo
    from robotops.sim.fleet.shift import ShiftConfig

    if quick:
        robots, minutes = 6, 1.5
    out = get_settings().data_dir / "demo"
    config = ShiftConfig(robots=robots, minutes=minutes, seed=seed, site=get_settings().site)
    say = lambda m: console.print(m, markup=False, highlight=False)  # noqa: E731
    result = run_demo(out, config, get_settings(), say=say)
    if as_json:
        emit_json(result)
    else:
        console.print(f"report: {result.report}")
