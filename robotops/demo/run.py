"""The demo: one whole turn of the flywheel on the simulated fleet, end to end, offline.

1. observe: a shift of the simulated warehouse fleet on the incumbent policy, hazards seeded in;
2. collect: bandwidth-aware pulls of every incident window over the fleet API, ingest, labels;
3. triage: every incident diagnosed, "why did #104 stall?" answered with citations;
4. scenarios: a scenario family from the strongest glare and shadow incidents;
5. train: a planned dataset (labels + frames rendered in the family's worlds), the alignment
   gate, a fine-tune of the incumbent into a candidate, published to the fleet's artifact store;
6. validate: a campaign of candidate vs incumbent on the family and the golden suite, judged;
7. rollout: the steward's staged plan waits in the approval inbox; with ``auto_approve`` (demo
   only, recorded in the audit log as an automatic demo approval) canary, gates, all robots;
8. after: a second shift on whatever the fleet now runs, and the before/after table.

Training and validation run the training planner's and the validation judge's own procedures
(through the reasoner the settings name); the other steps call the same registered tools the
agents and the API call, so the demo shows the product's path, not a parallel one. Sizes come
from ``settings.agents`` (``quick_settings`` shrinks them). The same seed gives the same figures.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from robotops.agents.reasoning.base import Finding, Task, Uses, create_reasoner, run_agent
from robotops.demo.figures import shift_figures
from robotops.demo.models import Collected, DemoResult, DiagnosedIncident
from robotops.memory.approval_models import Actor, Decision
from robotops.settings import Settings
from robotops.sim.fleet.models import Incident
from robotops.sim.fleet.serve import serve_in_thread
from robotops.sim.fleet.service import create_fleet_app
from robotops.sim.fleet.shift import ShiftConfig, ShiftSummary, run_shift
from robotops.tools.context import ToolContext
from robotops.tools.defaults import all_tools, default_toolsets
from robotops.tools.fleet.client import FleetClient
from robotops.tools.fleet.pull import PullResult
from robotops.tools.triage.answer import pull_and_ingest, triage, window_path
from robotops.tools.triage.diagnose import diagnose_incident
from robotops.tools.triage.models import DiagnoseRequest

STORY_QUESTION = "why did #104 stall?"
DEMO_APPROVER = Actor(name="demo-auto-approver", role="approver")
AUTO_APPROVAL_COMMENT = "AUTOMATIC DEMO APPROVAL (robotops demo --auto-approve): no human decided"
FAMILY_CAUSES = ("glare", "shadow")
Say = Callable[[str], None]


QUICK_AGENTS = {  # --quick: a small campaign and fine-tune (settings.agents holds the defaults)
    "scenario_variants": 5,
    "scenario_duration_s": 12.0,
    "training_sim_frames": 400,
    "training_epochs": 8,
    "judge_min_runs": 10,
    "rollout_bake_minutes": [0.25],
}


def quick_settings(settings: Settings) -> Settings:
    """``settings`` with the flywheel sized for --quick."""
    agents = settings.agents.model_copy(update=QUICK_AGENTS)
    return settings.model_copy(update={"agents": agents})


def call(ctx: ToolContext, tool_name: str, /, **arguments: Any) -> Any:
    """Invoke a registered tool by name, the way agents and the API do."""
    return all_tools().invoke(tool_name, arguments, ctx)


# --- phases ---------------------------------------------------------------------------------


def collect(
    ctx: ToolContext, fleet: FleetClient, incidents: list[Incident], say: Say
) -> tuple[list[PullResult], Collected]:
    """Pull every robot's incident windows within its budget and ingest them."""
    results, logged = [], 0
    for robot in sorted({i.robot_id for i in incidents}):
        logged += sum(lg.size_bytes for lg in fleet.logs(robot))
        res = pull_and_ingest(robot, ctx.call)
        say(f"    #{robot}: {len(res.files)} windows, {res.transferred_bytes / 1e3:.0f} kB sent")
        results.append(res)
    covered = sum(1 for i in incidents if window_path(results, i) is not None)
    return results, Collected(
        robots=len(results),
        files=sum(len(r.files) for r in results),
        bytes_sent=sum(r.transferred_bytes for r in results),
        bytes_logged=logged,
        incidents_covered=covered,
        incidents=len(incidents),
    )


def diagnose_all(
    incidents: list[Incident], pulls: list[PullResult], say: Say
) -> list[DiagnosedIncident]:
    """Diagnose every incident whose window came home."""
    out = []
    for inc in incidents:
        path = window_path(pulls, inc)
        if path is None:
            continue
        d = diagnose_incident(
            DiagnoseRequest(log_path=str(path), time_ns=inc.time_ns, kind=inc.kind)
        )
        out.append(
            DiagnosedIncident(
                incident_id=inc.incident_id,
                robot_id=inc.robot_id,
                kind=inc.kind,
                cause=d.cause,
                confidence=d.confidence,
            )
        )
    causes = Counter(d.cause for d in out)
    say("    causes: " + ", ".join(f"{c} {n}" for c, n in causes.most_common()))
    return out


def make_scenarios(
    ctx: ToolContext, diagnosed: list[DiagnosedIncident], out: Path, say: Say
) -> dict[str, Any]:
    """One family per phantom-stop cause, from its most confident stall; merged for the campaign."""
    merged = out / "scenarios" / "campaign"
    merged.mkdir(parents=True, exist_ok=True)
    families, refs = [], []
    for cause in FAMILY_CAUSES:
        stalls = [d for d in diagnosed if d.cause == cause and d.kind == "stall"]
        if not stalls:
            continue
        best = max(stalls, key=lambda d: (d.confidence, d.incident_id))
        fam = call(
            ctx,
            "generate_scenarios",
            incident_id=best.incident_id,
            robot_id=best.robot_id,
            cause=cause,
            variants=ctx.settings.agents.scenario_variants,
            seed=0,
            duration_s=ctx.settings.agents.scenario_duration_s,
            out_dir=str(out / "scenarios" / best.incident_id),
        )
        for s in fam.scenarios:
            shutil.copy2(s.file, merged / Path(s.file).name)
            refs.append(s.model_dump(mode="json"))
        families.append({"family": fam.family, "incident": best.incident_id, "count": fam.count})
        say(f"    {fam.family}: {fam.count} scenarios from {best.incident_id} ({cause})")
    return {"family": "demo", "families": families, "directory": str(merged), "scenarios": refs}


def run_procedure(ctx: ToolContext, agent: str, kind: str, uses: Uses, **inputs: Any):
    """Run one agent's standard procedure (the reasoner the settings name), as the graph does."""
    from robotops.agents import graph  # noqa: F401  (registers every agent's procedure)

    task = Task(kind=kind, inputs=inputs)
    tools = uses.resolve(default_toolsets(), agent)
    return run_agent(create_reasoner(ctx.settings.llm), ctx, agent, task, tools)


def train_candidate(
    ctx: ToolContext, diagnosed: list[DiagnosedIncident], scenario_dir: str, parent: str, say: Say
) -> Finding:
    """The training planner: plan from every finding, build the dataset, gate it, fine-tune."""
    from robotops.agents.training import node as planner

    agents = ctx.settings.agents
    finding = run_procedure(
        ctx,
        planner.AGENT,
        "train",
        planner.TOOLS,
        findings=[d.model_dump(include={"cause", "robot_id", "confidence"}) for d in diagnosed],
        parent=parent,
        scenario_dir=scenario_dir,
        sim_frames=agents.training_sim_frames,
        epochs=agents.training_epochs,
    )
    say(f"    {finding.summary or finding.error}")
    return finding


def validate(
    ctx: ToolContext,
    scenarios: dict[str, Any],
    candidate: str,
    weights: str,
    incumbent: str,
    say: Say,
) -> Finding:
    """The validation judge: both policies on the family and the golden suite, then a verdict."""
    from robotops.agents.judge import procedure as judge

    finding = run_procedure(
        ctx,
        judge.AGENT,
        "judge",
        judge.TOOLS,
        candidate_version=candidate,
        incumbent_version=incumbent,
        scenarios=scenarios,
        weights={candidate: weights},
        min_runs=ctx.settings.agents.judge_min_runs,
    )
    for line in (finding.summary or finding.error or "").splitlines():
        say(f"    {line}")
    return finding


def roll_out(
    ctx: ToolContext, candidate: str, verdict: dict, auto: bool, say: Say
) -> dict[str, Any]:
    """The steward's plan into the inbox; with ``auto``, approve and run every stage."""
    plan = call(
        ctx,
        "propose_rollout",
        candidate_version=candidate,
        verdict=verdict,
        bake_minutes=ctx.settings.agents.rollout_bake_minutes,
    )
    say(f"    {plan.summary}")
    result: dict[str, Any] = {"rollout_id": plan.rollout_id, "plan": plan.summary}
    approval_id = plan.approval_id
    while approval_id:
        if not auto:
            say(f"    waiting in the inbox: {approval_id} (robotops inbox show {approval_id})")
            result["waiting_for"] = approval_id
            return result
        ctx.approvals.decide(
            approval_id, Decision(approve=True, comment=AUTO_APPROVAL_COMMENT), DEMO_APPROVER
        )
        say(f"    !! {approval_id} approved automatically by {DEMO_APPROVER.name} (--auto-approve)")
        stage = call(ctx, "run_rollout_stage", rollout_id=plan.rollout_id, approval_id=approval_id)
        view = stage.rollout
        say(f"    {stage.summary}")
        result.update(
            status=stage.status,
            live=view.live,
            gates=[g.model_dump(mode="json") for g in view.last_gates],
        )
        approval_id = stage.next_approval_id
    return result


# --- the whole turn -------------------------------------------------------------------------


def run_demo(
    out: Path,
    config: ShiftConfig,
    settings: Settings,
    say: Say = print,
    auto_approve: bool = False,
) -> DemoResult:
    """Run one turn of the flywheel into a fresh directory ``out`` and write its report."""
    from robotops.demo.report import write_report

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    fleet_dir = out / "fleet"
    phases: dict[str, float] = {}
    clock = time.monotonic()

    def lap(name: str) -> None:
        nonlocal clock
        phases[name] = round(time.monotonic() - clock, 2)
        clock = time.monotonic()

    if auto_approve:
        say("!! --auto-approve: every approval in this demo is decided automatically by")
        say(f"!! '{DEMO_APPROVER.name}' and recorded as such in the audit log. Demo only.")
    say(
        f"1/8 observe: {config.robots} robots x {config.minutes:g} min on the incumbent, "
        f"hazards: {', '.join(config.hazards) or 'none'}"
    )
    summary = run_shift(fleet_dir, config, progress=lambda rid: say(f"    robot #{rid} done"))
    say(f"    {len(summary.incidents)} incidents")
    result = DemoResult(
        seed=config.seed,
        auto_approve=auto_approve,
        shift=summary,
        collected=Collected(
            robots=0, files=0, bytes_sent=0, bytes_logged=0, incidents_covered=0, incidents=0
        ),
        triage=None,
        before=shift_figures(fleet_dir, summary.shift_id),
        phases_s=phases,
    )
    lap("observe")
    with serve_in_thread(create_fleet_app(fleet_dir)) as url, FleetClient(url) as fleet:
        run_settings = settings.model_copy(
            update={"data_dir": out, "fleet": settings.fleet.model_copy(update={"url": url})}
        )
        ctx = ToolContext(run_settings, actor="demo")
        try:
            _turn(ctx, fleet, out, config, summary, result, auto_approve, say, lap)
        finally:
            result.approvals = [
                a.model_dump(
                    mode="json",
                    include={
                        "id",
                        "action",
                        "status",
                        "decided_by",
                        "decision_comment",
                        "requested_by",
                    },
                )
                for a in ctx.approvals.store.list()
            ]
            ctx.close()
    result.phases_s = dict(phases)
    result.report = str(write_report(out, result))
    say(f"8/8 report: {result.report}")
    return result


def _turn(
    ctx: ToolContext,
    fleet: FleetClient,
    out: Path,
    config: ShiftConfig,
    summary: ShiftSummary,
    result: DemoResult,
    auto_approve: bool,
    say: Say,
    lap: Callable[[str], None],
) -> None:
    """Phases 2-8 against the running fleet API; stops early (recorded) when the loop must."""
    say(f"2/8 collect: incident windows over the fleet API at {fleet.base_url}, ingest, labels")
    incidents = fleet.incidents()
    pulls, result.collected = collect(ctx, fleet, incidents, say)
    labeled = call(ctx, "label_segments")
    result.collected.labels = dict(labeled.labels)
    say(f"    {ctx.index.count()} segments indexed; labels: {result.collected.labels}")
    lap("collect")

    say("3/8 triage: every incident, then the story")
    result.diagnosed = diagnose_all(incidents, pulls, say)
    result.causes = dict(Counter(d.cause for d in result.diagnosed).most_common())
    if any(i.robot_id == "104" for i in incidents):
        say(f"    {STORY_QUESTION}")
        result.triage = triage(STORY_QUESTION, ctx.call, pulls, frames_dir=out / "frames")
        for line in result.triage.text.splitlines():
            say(f"      {line}")
    lap("triage")

    say("4/8 scenarios: families from the phantom stops")
    result.scenarios = make_scenarios(ctx, result.diagnosed, out, say)
    lap("scenarios")
    if not result.scenarios["families"]:
        result.stopped_at = "scenarios: no glare or shadow stall to learn from"
        return

    incumbent = fleet.robots()[0].policy_version
    say(f"5/8 train: fine-tune {incumbent} on what the fleet saw")
    planned = train_candidate(ctx, result.diagnosed, result.scenarios["directory"], incumbent, say)
    done = planned.results
    result.training = {
        "summary": planned.summary or planned.error,
        "plan": done.get("plan_training"),
        "dataset": done.get("build_dataset"),
        "alignment": (done.get("check_alignment") or {}).get("summary"),
        "trained": done.get("train_policy"),
    }
    trained = result.training["trained"]
    lap("train")
    if not trained:
        result.stopped_at = f"train: {result.training['summary']}"
        return
    candidate = trained["version"]
    fleet.publish_policy(Path(trained["weights_path"]))

    say(f"6/8 validate: {candidate} vs {incumbent} on the family and the golden suite")
    judged = validate(ctx, result.scenarios, candidate, trained["weights_path"], incumbent, say)
    lap("validate")
    outcome = judged.results.get("judge_candidate")
    if not judged.ok or not outcome:
        result.stopped_at = f"validate: {judged.error}"
        return
    result.validation = {"verdict": outcome["verdict"], "report": outcome["report_path"]}
    verdict = outcome["verdict"]
    if verdict["verdict"] != "promote":
        result.stopped_at = f"validate: the judge said {verdict['verdict']}"
        return

    say("7/8 rollout: staged canary plan, a person approves every stage")
    result.rollout = roll_out(ctx, candidate, verdict, auto_approve, say)
    lap("rollout")
    if result.rollout.get("waiting_for"):
        result.stopped_at = f"rollout: waiting for approval {result.rollout['waiting_for']}"
        return

    on = sorted({r.policy_version for r in fleet.robots()})
    say(f"8/8 after: a second shift on {', '.join(on)}")
    after = run_shift(Path(summary.fleet_dir), config)
    result.after = shift_figures(Path(summary.fleet_dir), after.shift_id)
    lap("after")
