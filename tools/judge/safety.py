"""The hard safety gate: golden safety cases, new collisions, people passed too close, and
regressions on the golden incident cases. Anything found here blocks a promotion."""

from __future__ import annotations

from robotops.sim.campaign.models import RunResult
from robotops.tools.judge.golden import GoldenCase, GoldenSuite
from robotops.tools.judge.metrics import run_key
from robotops.tools.judge.models import RunRef, SafetyCheck


def short_error(error: str | None, limit: int = 200) -> str | None:
    """The first non-empty line of an error, cut to ``limit`` characters (reports stay readable;
    the full text stays in the stored run)."""
    if not error:
        return error
    line = next((ln.strip() for ln in error.splitlines() if ln.strip()), "")
    line = " ".join(line.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def ref(r: RunResult, note: str = "") -> RunRef:
    """A short reference to a run (ids, hashes, key metrics) for a verdict's evidence."""
    m = r.metrics
    return RunRef(
        run_id=r.run_id,
        campaign_id=r.campaign_id,
        scenario_id=r.scenario_id,
        scenario_sha256=r.scenario_sha256,
        policy_version=r.policy_version,
        seed=r.seed,
        status=r.status,
        error=short_error(r.error),
        collisions=m.collisions if m else 0,
        stall_time_s=m.stall_time_s if m else 0.0,
        failure_time_s=r.failure_time_s,
        note=note,
    )


def runs_of_case(case: GoldenCase, runs: list[RunResult]) -> list[RunResult]:
    """Runs of exactly this frozen scenario (its id and one of its content hashes)."""
    hashes = {case.sha256, case.scenario.sha256()}
    return [r for r in runs if r.scenario_id == case.scenario_id and r.scenario_sha256 in hashes]


def case_problems(case: GoldenCase, run: RunResult, min_people_m: float) -> list[str]:
    """What a run did wrong in a safety case; empty when it passed."""
    if run.status != "ok" or run.metrics is None:
        return [f"run failed ({short_error(run.error) or 'no metrics'}), so safety is not shown"]
    m, problems = run.metrics, []
    if m.collisions:
        problems.append(f"collided {m.collisions} time(s)")
    if m.min_clearance_people_m < min_people_m:
        problems.append(
            f"came within {m.min_clearance_people_m:.2f} m of a person (limit {min_people_m} m)"
        )
    if case.must_stop and m.true_stops + m.estops == 0:
        problems.append("did not stop for the real obstacle in its path")
    return problems


def golden_safety(
    suite: GoldenSuite, cand: list[RunResult], inc: list[RunResult], min_people_m: float
) -> tuple[list[SafetyCheck], list[str]]:
    """One check per (safety case, seed) the candidate ran; and the cases it never ran."""
    checks, missing = [], []
    for case in suite.safety_cases():
        mine = runs_of_case(case, cand)
        if not mine:
            missing.append(case.scenario_id)
        theirs = {r.seed: r for r in runs_of_case(case, inc)}
        for run in sorted(mine, key=lambda r: r.seed):
            problems = case_problems(case, run, min_people_m)
            other = theirs.get(run.seed)
            checks.append(
                SafetyCheck(
                    scenario_id=case.scenario_id,
                    seed=run.seed,
                    must_stop=case.must_stop,
                    passed=not problems,
                    problems=problems,
                    incumbent_passed=None
                    if other is None
                    else not case_problems(case, other, min_people_m),
                    run=ref(run, "; ".join(problems)),
                )
            )
    return checks, missing


def new_collisions(cand: list[RunResult], inc: list[RunResult]) -> list[RunRef]:
    """Candidate runs that collided where the incumbent, on the same scenario and seed, did not."""
    theirs = {run_key(r): r for r in inc if r.metrics is not None}
    out = []
    for r in cand:
        if r.metrics is None or not r.metrics.collisions:
            continue
        other = theirs.get(run_key(r))
        if other is None or not other.metrics.collisions:  # type: ignore[union-attr]
            note = "incumbent did not run it" if other is None else "incumbent did not collide"
            out.append(ref(r, f"collided {r.metrics.collisions} time(s); {note}"))
    return out


def missed_people(cand: list[RunResult], inc: list[RunResult], min_m: float) -> list[RunRef]:
    """Candidate runs that passed a person closer than the limit where the incumbent did not."""
    theirs = {run_key(r): r for r in inc if r.metrics is not None}
    out = []
    for r in cand:
        if r.metrics is None or r.metrics.min_clearance_people_m >= min_m:
            continue
        other = theirs.get(run_key(r))
        if other is None or other.metrics.min_clearance_people_m >= min_m:  # type: ignore[union-attr]
            out.append(ref(r, f"{r.metrics.min_clearance_people_m:.2f} m from a person"))
    return out


def golden_regressions(
    suite: GoldenSuite, cand: list[RunResult], inc: list[RunResult]
) -> list[RunRef]:
    """Incident cases (not safety ones) the candidate does worse on than the incumbent, per seed:
    it loses the goal, collides more, or phantom-stops more."""
    out = []
    for case in suite.cases:
        if case.safety:
            continue
        theirs = {r.seed: r for r in runs_of_case(case, inc) if r.metrics is not None}
        for r in runs_of_case(case, cand):
            other = theirs.get(r.seed)
            if other is None or other.metrics is None:
                continue
            why = _worse(r, other)
            if why:
                out.append(ref(r, why))
    return out


def _worse(c: RunResult, i: RunResult) -> str:
    if c.metrics is None:
        return f"failed ({c.error}) where the incumbent ran"
    cm, im = c.metrics, i.metrics
    assert im is not None
    if im.reached_goal and not cm.reached_goal:
        return "did not reach the goal; the incumbent did"
    if cm.collisions > im.collisions:
        return f"{cm.collisions} collision(s) vs {im.collisions}"
    if cm.phantom_stops > im.phantom_stops:
        return f"{cm.phantom_stops} phantom stop(s) vs {im.phantom_stops}"
    return ""
