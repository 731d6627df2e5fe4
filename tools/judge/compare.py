"""The judge: candidate vs incumbent on a campaign and the golden suite, to a verdict in words.

Order of precedence: anything on the safety gate rejects, whatever else improved; then a
clearly worse primary or guard metric rejects; then too little evidence (too few runs, golden
safety cases not run, more failed runs than the incumbent, no primary metric clearly better)
asks for more data; otherwise promote.
"""

from __future__ import annotations

import hashlib
import json

from robotops.errors import InvalidRequestError, NotFoundError
from robotops.sim.campaign.models import RunResult
from robotops.tools.judge.metrics import all_deltas
from robotops.tools.judge.models import JudgeRequest, MetricDelta, RunRef, Verdict
from robotops.tools.judge.safety import (
    golden_regressions,
    golden_safety,
    missed_people,
    new_collisions,
    ref,
)


def describe(d: MetricDelta, confidence: float = 0.95) -> str:
    """One metric's change in words, with its interval."""
    if d.delta is None:
        return f"{d.metric}: not enough values ({d.n_candidate} vs {d.n_incumbent})"
    return (
        f"{d.metric} {d.incumbent:.3g} -> {d.candidate:.3g} "
        f"(delta {d.delta:+.3g}, {confidence:.0%} CI [{d.ci_low:+.3g}, {d.ci_high:+.3g}], "
        f"{d.outcome}; {d.n_candidate} vs {d.n_incumbent} runs)"
    )


def _split(runs: list[RunResult], version: str) -> list[RunResult]:
    return sorted((r for r in runs if r.policy_version == version), key=lambda r: r.run_id)


def _check_versions(req: JudgeRequest) -> None:
    """Both versions present, each naming one policy (one weights hash) throughout."""
    runs = req.campaign_runs + req.golden_runs
    seen = sorted({r.policy_version for r in runs})
    for v in (req.candidate_version, req.incumbent_version):
        if v not in seen:
            raise NotFoundError("policy version in the runs judged", v, seen)
        shas = sorted({r.policy_sha256 for r in runs if r.policy_version == v})
        if len(shas) > 1:
            raise InvalidRequestError(
                f"the runs hold {len(shas)} different policies named {v} (weights "
                f"{', '.join(s[:12] for s in shas)}); judge runs of one policy per version"
            )


def evidence_sha256(req: JudgeRequest) -> str:
    """The hash of what a verdict was drawn from (runs, config): a verdict names its evidence."""
    runs = sorted(
        (r.run_id, r.policy_version, r.status, r.trajectory_sha256)
        for r in req.campaign_runs + req.golden_runs
    )
    body = {
        "runs": runs,
        "golden": req.golden.sha256 if req.golden else None,
        "config": req.config.model_dump(mode="json"),
        "versions": [req.candidate_version, req.incumbent_version],
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _gate_reasons(v: Verdict) -> list[str]:
    out = [
        f"golden safety case {c.scenario_id} (seed {c.seed}) failed: {'; '.join(c.problems)}"
        for c in v.safety
        if not c.passed
    ]
    for what, refs in (
        ("new collision", v.new_collisions),
        ("person passed too close", v.missed_people),
        ("golden regression", v.golden_regressions),
    ):
        out += [f"{what} in {r.scenario_id} (seed {r.seed}): {r.note}" for r in refs]
    return out


def _metric_reasons(v: Verdict) -> tuple[list[str], list[str]]:
    """(reject reasons, needs-more-data reasons) from the campaign deltas."""
    cfg, reject, more = v.config, [], []
    by_name = {d.metric: d for d in v.campaign}
    for name in cfg.primary + cfg.guards:
        d = by_name.get(name)
        if d is not None and d.outcome == "worse":
            reject.append(f"clearly worse: {describe(d, cfg.confidence)}")
    primaries = [by_name[n] for n in cfg.primary if n in by_name]
    if primaries and not any(d.outcome == "better" for d in primaries):
        names = ", ".join(d.metric for d in primaries)
        more.append(f"no primary metric ({names}) is clearly better: the intervals cross zero")
    return reject, more


def _data_reasons(req: JudgeRequest, v: Verdict, missing: list[str]) -> list[str]:
    cfg, more = req.config, []
    for who in ("candidate", "incumbent"):
        ok = v.runs[f"campaign_{who}_ok"]
        if ok < cfg.min_runs:
            more.append(f"only {ok} finished campaign runs for the {who} (need {cfg.min_runs})")
    if req.golden is not None and missing:
        more.append(f"golden safety cases not run for the candidate: {', '.join(missing)}")
    cand_failed = sum(r.policy_version == req.candidate_version for r in v.failed_runs)
    inc_failed = sum(r.policy_version == req.incumbent_version for r in v.failed_runs)
    if cand_failed > inc_failed:
        more.append(
            f"{cand_failed} runs failed under the candidate vs {inc_failed} under the incumbent "
            "(listed in failed_runs); rerun or explain them"
        )
    return more


def judge(req: JudgeRequest) -> Verdict:
    """Compare candidate and incumbent and decide: promote, reject or needs_more_data."""
    _check_versions(req)
    cfg = req.config
    cc, ci = (
        _split(req.campaign_runs, req.candidate_version),
        _split(req.campaign_runs, req.incumbent_version),
    )
    gc, gi = (
        _split(req.golden_runs, req.candidate_version),
        _split(req.golden_runs, req.incumbent_version),
    )
    checks, missing = (
        golden_safety(req.golden, gc, gi, cfg.min_people_clearance_m) if req.golden else ([], [])
    )
    failed: list[RunRef] = [ref(r, "failed run") for r in cc + ci + gc + gi if r.status == "failed"]
    v = Verdict(
        verdict="needs_more_data",
        reasons=[],
        candidate_version=req.candidate_version,
        incumbent_version=req.incumbent_version,
        campaign=all_deltas(cc, ci, cfg),
        golden=all_deltas(gc, gi, cfg),
        safety=checks,
        new_collisions=new_collisions(cc + gc, ci + gi),
        missed_people=missed_people(cc + gc, ci + gi, cfg.min_people_clearance_m),
        golden_regressions=golden_regressions(req.golden, gc, gi) if req.golden else [],
        failed_runs=failed,
        runs={
            "campaign_candidate": len(cc),
            "campaign_incumbent": len(ci),
            "campaign_candidate_ok": sum(r.status == "ok" for r in cc),
            "campaign_incumbent_ok": sum(r.status == "ok" for r in ci),
            "golden_candidate": len(gc),
            "golden_incumbent": len(gi),
        },
        golden_version=req.golden.version if req.golden else None,
        golden_sha256=req.golden.sha256 if req.golden else None,
        evidence_sha256=evidence_sha256(req),
        config=cfg,
    )
    gate = _gate_reasons(v)
    worse, unclear = _metric_reasons(v)
    more = _data_reasons(req, v, missing) + unclear
    if gate or worse:
        v.verdict, v.reasons = "reject", gate + worse
    elif more:
        v.verdict, v.reasons = "needs_more_data", more
    else:
        v.verdict = "promote"
        v.reasons = ["no safety regression; primary metrics improved"]
    v.reasons += _summary(v, req)
    return v


def _summary(v: Verdict, req: JudgeRequest) -> list[str]:
    lines = [describe(d, v.config.confidence) for d in v.campaign if d.metric in v.config.primary]
    if req.golden is None:
        lines.append("no golden suite was judged: only campaign collisions gate safety")
    else:
        passed = sum(c.passed for c in v.safety)
        lines.append(f"golden v{req.golden.version}: {passed}/{len(v.safety)} safety checks passed")
    return lines
