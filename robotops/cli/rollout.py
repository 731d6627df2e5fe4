"""``robotops rollout ...``: staged rollouts, an approval per stage; ``robotops eval rollout``."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.table import Table

from robotops.cli.base import JsonOpt, app, clean_errors, console, emit_json
from robotops.cli.eval import eval_app
from robotops.errors import InvalidRequestError
from robotops.settings import get_settings

if TYPE_CHECKING:
    from robotops.tools.context import ToolContext
    from robotops.tools.rollout.models import RolloutView

rollout_app = typer.Typer(
    help="Staged rollouts: plan, run an approved stage, status, abort.", no_args_is_help=True
)
app.add_typer(rollout_app, name="rollout")


def _ctx(actor: str = "rollout-steward") -> ToolContext:
    from robotops.tools.context import ToolContext

    return ToolContext(get_settings(), actor=actor)


M = TypeVar("M", bound=BaseModel)


def _options(model: type[M], **values: Any) -> M:
    """Build ``model`` from command options; a bad value is one clear line, not a traceback."""
    try:
        return model(**values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidRequestError(f"bad option: {problems}") from None


def _minutes(text: str) -> list[float]:
    try:
        return [float(b) for b in text.split(",")]
    except ValueError as exc:
        raise typer.BadParameter(f"--bake must be a comma list of minutes, got {text!r}") from exc


def _print_view(view: RolloutView) -> None:
    console.print(
        f"[bold]{view.rollout_id}[/bold] {view.candidate_version} over "
        f"{view.incumbent_version}: {view.status} (stage {view.current_stage + 1}/{view.stages})"
    )
    console.print(f"  waiting for: {view.waiting_for}")
    if view.reason:
        console.print(f"  reason: {view.reason}")
    table = Table("robot", "live version")
    for robot, version in sorted(view.live.items()):
        table.add_row(robot, version)
    console.print(table)
    for gate in view.last_gates:
        mark = "[green]pass[/green]" if gate.passed else "[red]FAIL[/red]"
        console.print(f"  {mark} {gate.gate}: {gate.detail}")


@rollout_app.command("plan")
@clean_errors
def plan_cmd(
    candidate: Annotated[str, typer.Argument(help="Candidate policy version the judge promoted.")],
    canary: Annotated[int, typer.Option(help="Robots in the canary stage.")] = 1,
    share: Annotated[float, typer.Option(help="Fraction of robots on it after stage 2.")] = 0.5,
    bake: Annotated[
        str, typer.Option(help="Simulated minutes of bake per stage, comma list (last repeats).")
    ] = "0.5",
    seed: Annotated[int, typer.Option(help="Seed of the simulated bake segments.")] = 0,
    ask: Annotated[
        bool, typer.Option("--ask/--no-ask", help="File the first stage's approval request.")
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """Propose a staged rollout from the judge's stored verdict; moves no robot."""
    from robotops.tools.rollout.plan import ProposeRolloutRequest
    from robotops.tools.rollout.tools import propose_rollout_tool

    request = _options(
        ProposeRolloutRequest,
        candidate_version=candidate,
        canary_robots=canary,
        share=share,
        bake_minutes=_minutes(bake),
        seed=seed,
        request_approval=ask,
    )
    result = propose_rollout_tool(request, _ctx())
    if as_json:
        emit_json(result)
        return
    console.print(f"rollout [bold]{result.rollout_id}[/bold]: {result.summary}")
    if result.approval_id:
        console.print(f"approval requested for stage 1: {result.approval_id}")


@rollout_app.command("start")
@clean_errors
def start_cmd(
    rollout_id: Annotated[str, typer.Argument(help="Rollout id (from `rollout plan`).")],
    approval: Annotated[str, typer.Option(help="Approval id of the current stage.")],
    as_json: JsonOpt = False,
) -> None:
    """Run the rollout's current stage under its approval: deploy, confirm, bake, gate."""
    from robotops.tools.rollout.tools import RunRolloutStageRequest, run_rollout_stage_tool

    result = run_rollout_stage_tool(
        RunRolloutStageRequest(rollout_id=rollout_id, approval_id=approval), _ctx()
    )
    if as_json:
        emit_json(result)
        return
    _print_view(result.rollout)
    if result.next_approval_id:
        console.print(f"next stage's approval requested: {result.next_approval_id}")


@rollout_app.command("status")
@clean_errors
def status_cmd(
    rollout_id: Annotated[str | None, typer.Argument(help="One rollout (default: all).")] = None,
    reconcile: Annotated[
        bool,
        typer.Option(
            "--reconcile", help="First compare with the fleet; continue or roll back (acts)."
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """What is live where, what waits for whom; --reconcile after a crash or outage."""
    from robotops.tools.rollout.tools import (
        ReconcileRolloutRequest,
        RolloutStatusQuery,
        reconcile_rollout_tool,
        rollout_status_tool,
    )

    ctx = _ctx()
    if reconcile:
        if rollout_id is None:
            raise typer.BadParameter("--reconcile needs a rollout id")
        reconcile_rollout_tool(ReconcileRolloutRequest(rollout_id=rollout_id), ctx)
    result = rollout_status_tool(RolloutStatusQuery(rollout_id=rollout_id), ctx)
    if as_json:
        emit_json(result)
        return
    if not result.rollouts:
        console.print("no rollouts")
    for view in result.rollouts:
        _print_view(view)


@rollout_app.command("abort")
@clean_errors
def abort_cmd(
    rollout_id: Annotated[str, typer.Argument(help="Rollout id.")],
    reason: Annotated[str, typer.Option(help="Why (goes to the audit log and the incident).")],
    by: Annotated[str | None, typer.Option(help="Who is aborting (default: $USER).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Stop a rollout and restore the incumbent everywhere it went (needs no approval)."""
    from robotops.tools.rollout.tools import RollbackRolloutRequest, rollback_rollout_tool

    who = by or os.environ.get("USER") or "operator"
    result = rollback_rollout_tool(
        RollbackRolloutRequest(rollout_id=rollout_id, reason=reason), _ctx(actor=who)
    )
    if as_json:
        emit_json(result)
        return
    _print_view(result.rollout)


@eval_app.command("rollout")
@clean_errors
def eval_rollout_cmd(
    robots: Annotated[int, typer.Option(help="Robots in the simulated fleet.")] = 4,
    bake: Annotated[float, typer.Option(help="Simulated minutes of bake per stage.")] = 0.25,
    baseline: Annotated[float, typer.Option(help="Simulated minutes of baseline.")] = 0.5,
    bad: Annotated[
        str, typer.Option(help="Bad candidate: phantom (stops for nothing) or blind.")
    ] = "phantom",
    seed: Annotated[int, typer.Option(help="Seed of the simulated segments.")] = 0,
    workers: Annotated[int, typer.Option(help="Simulation processes; 0 = CPUs.")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Staged rollouts on a small simulated fleet: good, bad (rolled back), under faults."""
    from robotops.evals.rollout import RolloutEvalConfig, evaluate

    config = _options(
        RolloutEvalConfig,
        robots=robots,
        bake_minutes=bake,
        baseline_minutes=baseline,
        bad=bad,
        seed=seed,
        workers=workers,
    )
    with console.status("simulating a fleet and rolling candidates out"):
        result = evaluate(config)
    if as_json:
        emit_json(result)
        return
    console.print(f"{result.segments_simulated} simulated segments, {result.wall_s:.0f} s wall")
    for s in result.scenarios:
        console.print(
            f"[bold]{s.name}[/bold]: {s.status}, {s.stages_passed} stage(s) passed, "
            f"robots on an unapproved/unknown version at the end: {s.strays_final}"
        )
        if s.gate_failure_to_incumbent_sim_s is not None:
            console.print(
                f"  gate failure -> all robots on the incumbent: "
                f"{s.gate_failure_to_incumbent_sim_s:.1f} simulated s "
                f"({s.gate_failure_to_incumbent_wall_s:.2f} s wall); canary exposure "
                f"{s.canary_exposure_robot_s:.0f} robot-s; failed gates: {s.failed_gates}"
            )
        for step, n in zip(s.steps, s.strays_after_each_step, strict=True):
            console.print(f"  - {step} (strays {n})")
