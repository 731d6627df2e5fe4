"""``robotops eval flywheel``: the demo's loop on several seeds, with spread."""

from __future__ import annotations

from typing import Annotated

import typer

from robotops.cli.base import JsonOpt, clean_errors, console, emit_json
from robotops.cli.eval import eval_app
from robotops.settings import get_settings


@eval_app.command("flywheel")
@clean_errors
def eval_flywheel_cmd(
    seeds: Annotated[str, typer.Option(help="Comma-separated seeds.")] = "0,1,2",
    robots: Annotated[int, typer.Option(help="Fleet size per seed.")] = 4,
    minutes: Annotated[float, typer.Option(help="Simulated minutes per shift.")] = 1.0,
    quick: Annotated[
        bool, typer.Option(help="Small campaign and training (as demo --quick).")
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """Turn the flywheel once per seed (auto-approved, demo only) and report the figures."""
    from robotops.demo.run import quick_settings
    from robotops.evals.flywheel import eval_flywheel

    settings = quick_settings(get_settings()) if quick else get_settings()
    result = eval_flywheel(
        [int(s) for s in seeds.split(",") if s.strip()],
        settings.data_dir / "eval-flywheel",
        settings,
        robots,
        minutes,
        say=lambda m: console.print(m, markup=False, highlight=False),
    )
    if as_json:
        emit_json(result)
        return
    for o in result.seeds:
        console.print(
            f"seed {o.seed}: verdict {o.verdict}; glare/shadow stalls per robot-hour "
            f"{o.glare_shadow_before} -> {o.glare_shadow_after}; stalls {o.stalls_before} -> "
            f"{o.stalls_after}; collisions {o.collisions_before} -> {o.collisions_after}; "
            f"golden safety failures {o.golden_safety_failures}; {o.wall_s:.0f} s"
            + (f"; stopped at {o.stopped_at}" if o.stopped_at else "")
        )
    console.print(
        f"glare/shadow stalls down {result.glare_shadow_drop_pct} % "
        f"(mean {result.mean_drop_pct}, sd {result.spread_pct}; goal >= 90 %)"
    )
