"""``robotops demo``: one turn of the flywheel on the embedded defaults, no network or keys."""

from __future__ import annotations

from typing import Annotated

import typer

from robotops.cli.base import JsonOpt, app, clean_errors, console, emit_json
from robotops.settings import get_settings


@app.command()
@clean_errors
def demo(
    robots: Annotated[int, typer.Option(help="Fleet size (4 or more includes #104).")] = 8,
    minutes: Annotated[float, typer.Option(help="Simulated minutes per shift.")] = 2.0,
    seed: Annotated[int, typer.Option(help="Seed; the same seed gives the same figures.")] = 0,
    quick: Annotated[
        bool, typer.Option(help="Small and fast (for tests): 4 robots x 1 min, small campaign.")
    ] = False,
    auto_approve: Annotated[
        bool,
        typer.Option(
            help="DEMO ONLY: approve every request automatically as 'demo-auto-approver' "
            "(recorded as such in the audit log) so the loop runs through rollout."
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run the flywheel demo on the simulated warehouse fleet and write a report."""
    from robotops.demo.report import before_after_rows
    from robotops.demo.run import quick_settings, run_demo
    from robotops.sim.fleet.shift import ShiftConfig

    settings = get_settings()
    if quick:
        robots, minutes, settings = 4, 1.0, quick_settings(settings)
    out = settings.data_dir / "demo"
    config = ShiftConfig(robots=robots, minutes=minutes, seed=seed, site=settings.site)
    say = lambda m: console.print(m, markup=False, highlight=False)  # noqa: E731 (to stderr)
    result = run_demo(out, config, settings, say=say, auto_approve=auto_approve)
    if as_json:
        payload = result.model_dump(mode="json")
        if result.before:
            payload["before_after"] = before_after_rows(result.before, result.after)
        emit_json(payload)
    else:
        console.print(f"report: {result.report}")
