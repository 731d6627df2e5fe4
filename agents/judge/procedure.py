"""The validation judge's standard procedure, thin over the tools and deterministic.

Write the golden suite out as scenario files, run candidate and incumbent on the campaign's
scenarios and on the golden suite (campaign ids derived from the inputs, so a rerun resumes),
judge, and write the finding: the verdict, the key deltas with their intervals, the safety gate.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from robotops.agents.reasoning.base import Report, Task, Toolbox, Uses
from robotops.errors import InvalidRequestError

AGENT = "validation-judge"
TOOLS = Uses(
    toolsets=("judge", "campaigns"),
    tools=("golden_scenarios", "run_campaign", "judge_candidate"),
)
KEY_METRICS = ("phantom_stop_rate", "stall_time_s", "reached_goal_rate", "collision_rate")


def campaign_ids(scenarios: dict[str, Any], pair: tuple[str, str], golden: Any) -> tuple[str, str]:
    """Stable ids from the inputs' content: the same inputs resume the same campaigns, and a
    regenerated family (other hashes) never mixes with an older one's runs."""
    shas = sorted(s.get("sha256", "") for s in scenarios.get("scenarios") or [])
    digest = hashlib.sha256(json.dumps([shas, scenarios["directory"]]).encode()).hexdigest()[:10]
    family = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(scenarios.get("family") or "scenarios"))
    versions = re.sub(r"[^A-Za-z0-9_.-]+", "_", "-vs-".join(pair))
    return (
        f"judge-{family}-{digest}-{versions}",
        f"golden-v{golden.version}-{golden.sha256[:10]}-{versions}",
    )


def finding_text(verdict: dict[str, Any], report_path: str) -> str:
    """The verdict in a few lines: what was decided, why, the key deltas, where the report is."""
    cand, inc = verdict["candidate_version"], verdict["incumbent_version"]
    lines = [f"Verdict on {cand} vs {inc}: {verdict['verdict']}."]
    lines += [f"- {r}" for r in verdict["reasons"][:4]]
    confidence = verdict["config"]["confidence"]
    for d in verdict["campaign"]:
        if d["metric"] in KEY_METRICS and d["delta"] is not None:
            lines.append(
                f"  {d['metric']}: {d['incumbent']:.3g} -> {d['candidate']:.3g} "
                f"({confidence:.0%} CI of delta [{d['ci_low']:+.3g}, {d['ci_high']:+.3g}], "
                f"{d['outcome']})"
            )
    failed = [c["scenario_id"] for c in verdict["safety"] if not c["passed"]]
    lines.append(
        f"Safety gate: {len(verdict['safety']) - len(failed)}/{len(verdict['safety'])} golden "
        f"checks passed{'; failed: ' + ', '.join(failed) if failed else ''}."
    )
    lines.append(f"Report: {report_path}")
    return "\n".join(lines)


def judge_procedure(task: Task, box: Toolbox) -> Report:
    """Campaign both policies on the scenarios and the golden suite, then judge."""
    inputs = task.inputs
    candidate, incumbent = inputs.get("candidate_version"), inputs.get("incumbent_version")
    scenarios = inputs.get("scenarios") or {}
    if not candidate or not incumbent or not scenarios.get("directory"):
        raise InvalidRequestError(
            "judge what? need candidate_version, incumbent_version and generated scenarios"
        )
    golden = box.call("golden_scenarios", {"version": inputs.get("golden_version")})
    main_id, golden_id = campaign_ids(scenarios, (candidate, incumbent), golden)
    policies = {"policies": [candidate, incumbent], "weights": inputs.get("weights") or {}}
    for cid, directory in ((main_id, scenarios["directory"]), (golden_id, golden.directory)):
        box.call("run_campaign", {"campaign_id": cid, "scenario_dir": directory, **policies})
    result = box.call(
        "judge_candidate",
        {
            "campaign_id": main_id,
            "candidate_version": candidate,
            "incumbent_version": incumbent,
            "golden_version": golden.version,
            "golden_campaign_id": golden_id,
            **({"config": {"min_runs": inputs["min_runs"]}} if inputs.get("min_runs") else {}),
        },
    )
    verdict = result.verdict.model_dump(mode="json")
    return Report(
        summary=finding_text(verdict, result.report_path),
        data={
            "verdict": verdict["verdict"],
            "candidate_version": candidate,
            "incumbent_version": incumbent,
            "campaign_id": main_id,
            "golden_campaign_id": golden_id,
            "golden_version": golden.version,
            "report_path": result.report_path,
            "evidence_sha256": verdict["evidence_sha256"],
        },
    )
