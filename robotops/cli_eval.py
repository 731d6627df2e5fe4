"""``robotops eval ...``: measure the flywheel against the simulator's ground truth."""

from __future__ import annotations

from typing import Annotated

import typer

from robotops.cli import JsonOpt, app, clean_errors, console, emit_json

eval_app = typer.Typer(
    help="Evals: measure triage, labeling, uploads, the loop.", no_args_is_help=True
)
app.add_typer(eval_app, name="eval")


@eval_app.command("triage")
@clean_errors
def triage_cmd(
    seeds: Annotated[
        str, typer.Option(help="Comma list of shift seeds (unseen in development).")
    ] = "101,102",
    robots: Annotated[int, typer.Option(help="Robots per shift.")] = 6,
    minutes: Annotated[float, typer.Option(help="Simulated minutes per shift.")] = 2.0,
    as_json: JsonOpt = False,
) -> None:
    """Triage accuracy of the embedded procedure against ground truth, and its latency."""
    from robotops.evals.triage import evaluate

    with console.status("simulating shifts and triaging every incident"):
        result = evaluate([int(s) for s in seeds.split(",")], robots, minutes)
    if as_json:
        emit_json(result)
        return
    console.print(f"{len(result.cases)} incidents over seeds {result.seeds}")
    console.print(
        f"accuracy {result.accuracy:.1%} (on incidents with a known cause: "
        f"{result.accuracy_known:.1%}), median latency {result.latency_p50_s * 1000:.0f} ms"
    )
    for pair, n in result.confusion.items():
        console.print(f"  {pair:32s} {n}")
