"""``robotops eval ...``: measure the flywheel against the simulator's ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from robotops.cli.base import JsonOpt, app, clean_errors, console, emit_json

if TYPE_CHECKING:
    from robotops.evals.triage import SplitScore

eval_app = typer.Typer(
    help="Evals: measure triage, labeling, uploads, the loop.", no_args_is_help=True
)
app.add_typer(eval_app, name="eval")


def _seeds(text: str | None, default: tuple[int, ...]) -> list[int]:
    if text is None:
        return list(default)
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError as exc:
        raise typer.BadParameter(f"seeds must be a comma list of integers, got {text!r}") from exc


def _print_split(name: str, score: SplitScore | None) -> None:
    if score is None:
        console.print(f"{name}: no seeds")
        return
    console.print(
        f"{name} seeds {score.seeds}: {score.incidents} incidents, accuracy {score.accuracy:.1%}"
        f" (on the {score.attributable} the simulator could attribute: "
        f"{score.accuracy_attributable:.1%})"
    )
    for cause, (right, total) in score.per_cause.items():
        console.print(f"  {cause:14s} {right}/{total} ({right / total:.0%})")
    right, total = score.mixed
    console.print(f"  {right}/{total} right where more than one hazard was acting at once")
    named = sorted({n for row in score.confusion.values() for n in row})
    console.print("  confusion (rows: truth, columns: named)")
    console.print("  " + " " * 14 + "".join(f"{n[:9]:>10s}" for n in named))
    for truth, row in score.confusion.items():
        console.print(f"  {truth:14s}" + "".join(f"{row.get(n, 0):>10d}" for n in named))


@eval_app.command("triage")
@clean_errors
def triage_cmd(
    dev_seeds: Annotated[
        str | None,
        typer.Option(help="Comma list of development seeds, tuned on (default 1,2,3)."),
    ] = None,
    held_out_seeds: Annotated[
        str | None,
        typer.Option(help="Comma list of held-out seeds, never tuned on (default 9001-9003)."),
    ] = None,
    robots: Annotated[int, typer.Option(help="Robots per shift.")] = 8,
    minutes: Annotated[float, typer.Option(help="Simulated minutes per shift.")] = 3.0,
    cache_dir: Annotated[
        Path | None,
        typer.Option(help="Keep simulated shifts here and reuse them (default: simulate anew)."),
    ] = None,
    workers: Annotated[int, typer.Option(help="Simulation processes; 0 = CPU count.")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Triage accuracy of the embedded procedure against ground truth, and its latency.

    Each seed's shift is simulated (or taken from --cache-dir), a window is cut around every
    incident as the agent would pull it, and the diagnosis is compared with the simulator's
    ground truth. Development and held-out seeds are scored apart.
    """
    from robotops.evals.triage import DEV_SEEDS, HELD_OUT_SEEDS, evaluate

    dev, held_out = _seeds(dev_seeds, DEV_SEEDS), _seeds(held_out_seeds, HELD_OUT_SEEDS)
    with console.status("simulating shifts and triaging every incident"):
        result = evaluate(dev, held_out, robots, minutes, cache_dir, workers)
    if as_json:
        emit_json(result)
        return
    console.print(f"{robots} robots x {minutes:g} min per seed")
    _print_split("development", result.dev)
    _print_split("held-out", result.held_out)
    console.print(
        f"answer latency per incident (pull + diagnose): p50 {result.latency_p50_s * 1000:.0f} ms,"
        f" p95 {result.latency_p95_s * 1000:.0f} ms (CPU time p50 {result.cpu_p50_s * 1000:.0f} ms)"
    )
