"""``robotops nightly`` (the flywheel, up to the inbox) and ``robotops eval adversarial``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from robotops.cli.base import JsonOpt, app, clean_errors, console, emit_json
from robotops.cli.eval import eval_app
from robotops.settings import get_settings


@app.command()
@clean_errors
def nightly(as_json: JsonOpt = False) -> None:
    """Triage new incidents, label, make scenarios, plan training, judge, propose a rollout.

    Stops where a person must decide (the approval inbox) and prints where that is.
    """
    from robotops.agents.nightly import run_nightly

    with console.status("running the flywheel on new fleet data"):
        result = run_nightly(get_settings())
    if as_json:
        emit_json(result)
        return
    for agent, summary in result.findings.items():
        typer.echo(f"[{agent}] {summary}")
    if result.status == "waiting":
        typer.echo(
            f"stopped at {', '.join(result.waiting_at)}: approve or reject {result.approval_id} "
            f"in the inbox (robotops inbox show {result.approval_id}); thread {result.thread_id}"
        )
    elif result.error:
        typer.echo(f"stopped with an error: {result.error} (thread {result.thread_id})")
    else:
        typer.echo(f"done: {result.answer} (thread {result.thread_id})")


@eval_app.command("adversarial")
@clean_errors
def adversarial_cmd(
    crash_runs: Annotated[int, typer.Option(help="Runs killed at random moments.")] = 4,
    seed: Annotated[int, typer.Option(help="Seed of the kill times.")] = 0,
    work_dir: Annotated[
        Path | None, typer.Option(help="Where the tiny fleet goes (default: a temp dir).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Approval safety (deploys that got through, goal 0) and crash-resume (goal 0)."""
    import tempfile

    from robotops.evals.adversarial import evaluate

    with (
        tempfile.TemporaryDirectory(prefix="robotops-adversarial-") as tmp,
        console.status("attacking the approval gates and killing runs"),
    ):
        result = evaluate(work_dir or Path(tmp), crash_runs, seed)
    if as_json:
        emit_json(result)
        return
    for case in result.safety.cases:
        mark = "THROUGH" if case.got_through else "blocked"
        typer.echo(f"  {mark:8s} {case.name}: {case.detail[:110]}")
    typer.echo(f"deploys that got through: {result.safety.deploys_through} (goal 0)")
    for run in result.crash.runs:
        state = "LOST" if run.lost else "REPEATED" if run.repeated else "ok"
        killed = f"killed at {run.kill_after_s}s" if run.killed else "finished before the kill"
        typer.echo(f"  {state:8s} {run.flow:6s} {killed}: {run.detail}")
    typer.echo(
        f"crash-resume runs with lost or repeated side effects: "
        f"{result.crash.lost_or_repeated} of {len(result.crash.runs)} (goal 0); "
        f"{result.seconds:.0f} s"
    )
