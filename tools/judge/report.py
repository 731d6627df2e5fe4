"""The judge's report: markdown a reviewer reads, PNG plots, the worst runs with the camera
frame at their failure, and verdict.json. Every number comes from the verdict and the runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from robotops.errors import RobotOpsError
from robotops.sim.campaign.models import RunResult
from robotops.tools.judge import plots
from robotops.tools.judge.compare import describe
from robotops.tools.judge.models import MetricDelta, RunRef, Verdict

FrameRenderer = Callable[[RunResult, float], np.ndarray]
"""Camera frame of a run's replay at sim time t (e.g. over sim.campaign's render_frame_at)."""


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}"


def delta_table(rows: list[MetricDelta], confidence: float) -> list[str]:
    """The metric deltas as Markdown table rows."""
    head = f"| metric | better | incumbent | candidate | delta | {confidence:.0%} CI | n (c/i) |"
    out = [head, "|---|---|---|---|---|---|---|"]
    for d in rows:
        ci = "-" if d.ci_low is None else f"[{d.ci_low:+.3g}, {d.ci_high:+.3g}]"
        delta = "-" if d.delta is None else f"{d.delta:+.3g}"
        out.append(
            f"| {d.metric} | {d.better} | {_fmt(d.incumbent)} | {_fmt(d.candidate)} | {delta} "
            f"| {ci} **{d.outcome}** | {d.n_candidate}/{d.n_incumbent} |"
        )
    return out


def safety_table(v: Verdict, links: dict[str, str]) -> list[str]:
    """The golden safety cases as Markdown table rows, each linked to its worst run."""
    if not v.safety:
        return ["No golden safety case was judged."]
    out = [
        "| case | seed | must stop | candidate | incumbent | problems |",
        "|---|---|---|---|---|---|",
    ]
    for c in v.safety:
        inc = {None: "not run", True: "pass", False: "FAIL"}[c.incumbent_passed]
        out.append(
            f"| {_link(c.scenario_id, links)} | {c.seed} | {'yes' if c.must_stop else 'no'} "
            f"| {'pass' if c.passed else '**FAIL**'} | {inc} | {'; '.join(c.problems) or '-'} |"
        )
    return out


def worst_runs(
    runs: list[RunResult], version: str, k: int, expected: frozenset[str] = frozenset()
) -> list[RunResult]:
    """The candidate's worst runs: failed first, then most collisions, then longest stall.
    Runs in ``expected`` (safety cases passed by stopping) are left out: stopping was right."""
    mine = [r for r in runs if r.policy_version == version and r.run_id not in expected]

    def badness(r: RunResult) -> tuple:
        m = r.metrics
        if m is None:
            return (1, 0, 0.0, r.run_id)
        return (0, -m.collisions, -m.stall_time_s, r.run_id)

    bad = [r for r in mine if r.metrics is None or r.metrics.collisions or r.metrics.stall_time_s]
    return sorted(bad, key=badness)[:k] if bad else []


def verdict_worst_runs(verdict: Verdict, runs: list[RunResult], k: int) -> list[RunResult]:
    """The worst candidate runs the report shows (passed safety stops left out)."""
    passed = frozenset(ch.run.run_id for ch in verdict.safety if ch.passed and ch.run)
    return worst_runs(runs, verdict.candidate_version, k, passed)


def _frame_section(
    run: RunResult, out_dir: Path, render: FrameRenderer | None, links: dict[str, str]
) -> list[str]:
    m = run.metrics
    what = (
        f"failed: {run.error}"
        if m is None
        else f"collisions {m.collisions}, stall {m.stall_time_s:.3g} s, "
        f"phantom stops {m.phantom_stops}, reached goal {m.reached_goal}"
    )
    scenario = _link(run.scenario_id, links)
    lines = [f"### {scenario} (seed {run.seed}, run `{run.run_id}`)", "", what, ""]
    t = run.failure_time_s
    if t is None:
        return [*lines, "No failure moment recorded, so no frame.", ""]
    if render is None:
        return [*lines, f"Failure at t = {t:.2f} s; no frame renderer was given.", ""]
    try:
        image = np.asarray(render(run, t))
    except (RobotOpsError, OSError, ValueError) as exc:
        return [*lines, f"Failure at t = {t:.2f} s; frame unavailable: {exc}", ""]
    name = f"frames/{run.run_id}_t{t:.2f}.png"
    (out_dir / "frames").mkdir(exist_ok=True)
    Image.fromarray(image.astype(np.uint8)).save(out_dir / name)
    return [*lines, f"Camera frame at the failure, t = {t:.2f} s:", "", f"![frame]({name})", ""]


def write_report(
    verdict: Verdict,
    campaign_runs: list[RunResult],
    golden_runs: list[RunResult],
    out_dir: Path,
    render: FrameRenderer | None = None,
    scenario_links: dict[str, str] | None = None,
    worst: int = 3,
) -> Path:
    """Write report.md, plots and verdict.json into ``out_dir``; returns ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    links = scenario_links or {}
    c, i = verdict.candidate_version, verdict.incumbent_version
    cand = [r for r in campaign_runs if r.policy_version == c]
    inc = [r for r in campaign_runs if r.policy_version == i]
    labels = (f"{c} (candidate)", f"{i} (incumbent)")
    plots.distributions(cand, inc, labels, out_dir / "distributions.png")
    plots.rates(verdict.campaign, labels, out_dir / "rates.png")
    plots.deltas(verdict.campaign, out_dir / "deltas.png")
    (out_dir / "verdict.json").write_text(verdict.model_dump_json(indent=2) + "\n")
    conf = verdict.config.confidence
    md = [
        f"# Judge: {c} (candidate) vs {i} (incumbent)",
        "",
        f"**Verdict: {verdict.verdict}**",
        "",
        *[f"- {r}" for r in verdict.reasons],
        "",
        f"Evidence hash `{verdict.evidence_sha256}`; runs: "
        + ", ".join(f"{k} {n}" for k, n in sorted(verdict.runs.items())),
        "",
        "## Safety gate",
        "",
        *safety_table(verdict, links),
        "",
        *_run_list("New collisions", verdict.new_collisions, links),
        *_run_list("People passed too close", verdict.missed_people, links),
        *_run_list("Golden regressions", verdict.golden_regressions, links),
        *_run_list("Failed runs", verdict.failed_runs, links),
        "## Campaign: candidate minus incumbent",
        "",
        *delta_table(verdict.campaign, conf),
        "",
        "![distributions](distributions.png)",
        "",
        "![rates](rates.png)",
        "",
        "![deltas](deltas.png)",
        "",
    ]
    if verdict.golden:
        md += [
            f"## Golden suite v{verdict.golden_version} (`{verdict.golden_sha256}`)",
            "",
            *delta_table(verdict.golden, conf),
            "",
        ]
    md += ["## Worst candidate runs", ""]
    worst_list = verdict_worst_runs(verdict, campaign_runs + golden_runs, worst)
    if not worst_list:
        md += ["None: no candidate run failed, collided or stalled.", ""]
    for run in worst_list:
        md += _frame_section(run, out_dir, render, links)
    md += ["## Every metric in words", ""]
    md += [f"- {describe(d, conf)}" for d in verdict.campaign] + [""]
    (out_dir / "report.md").write_text("\n".join(md))
    return out_dir


def _link(scenario_id: str, links: dict[str, str]) -> str:
    return f"[{scenario_id}]({links[scenario_id]})" if scenario_id in links else scenario_id


def _run_list(title: str, refs: list[RunRef], links: dict[str, str]) -> list[str]:
    if not refs:
        return []
    lines = [f"### {title}", ""]
    lines += [
        f"- {_link(r.scenario_id, links)} seed {r.seed}, {r.policy_version}, run `{r.run_id}`: "
        f"{r.note or r.status}{f' ({r.error})' if r.error else ''}"
        for r in refs
    ]
    return [*lines, ""]
