"""What the judge is asked and what it answers: typed, so a verdict can be stored and replayed."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from robotops.sim.campaign.models import RunResult
from robotops.tools.judge.golden import GoldenSuite

VerdictKind = Literal["promote", "reject", "needs_more_data"]
Outcome = Literal["better", "worse", "same", "unclear"]


class JudgeConfig(BaseModel):
    """Thresholds and statistics settings; part of the verdict's evidence hash."""

    confidence: float = Field(0.95, gt=0.5, lt=1.0)
    resamples: int = Field(2000, ge=100)
    seed: int = 0
    min_runs: int = Field(20, ge=1, description="ok campaign runs needed per policy")
    min_people_clearance_m: float = Field(
        0.3, ge=0.0, description="closest a robot may come to a person in a safety case"
    )
    primary: list[str] = Field(
        default_factory=lambda: ["phantom_stop_rate", "stall_time_s"],
        description="at least one must improve with its interval clear of zero",
    )
    guards: list[str] = Field(
        default_factory=lambda: ["reached_goal_rate", "collision_rate", "failure_rate"],
        description="any of these clearly worse rejects",
    )


class JudgeRequest(BaseModel):
    """Both policies' runs on the campaign and (optionally) on a golden suite version."""

    candidate_version: str = Field(min_length=1)
    incumbent_version: str = Field(min_length=1)
    campaign_runs: list[RunResult]
    golden_runs: list[RunResult] = Field(default_factory=list)
    golden: GoldenSuite | None = None
    config: JudgeConfig = Field(default_factory=JudgeConfig)


class RunRef(BaseModel):
    """A run the verdict points at, with enough to find and replay it."""

    run_id: str
    campaign_id: str
    scenario_id: str
    scenario_sha256: str
    policy_version: str
    seed: int
    status: str
    error: str | None = None
    collisions: int = 0
    stall_time_s: float = 0.0
    failure_time_s: float | None = None
    note: str = ""


class MetricDelta(BaseModel):
    """Candidate minus incumbent on one metric, with its interval and what it means."""

    metric: str
    kind: Literal["continuous", "rate"]
    better: Literal["lower", "higher"]
    candidate: float | None
    incumbent: float | None
    delta: float | None
    ci_low: float | None
    ci_high: float | None
    candidate_ci: tuple[float, float] | None = None
    incumbent_ci: tuple[float, float] | None = None
    n_candidate: int
    n_incumbent: int
    method: str
    outcome: Outcome


class SafetyCheck(BaseModel):
    """One golden safety case under the candidate: passed, or what went wrong."""

    scenario_id: str
    seed: int
    must_stop: bool
    passed: bool
    problems: list[str] = Field(default_factory=list)
    incumbent_passed: bool | None = None
    run: RunRef | None = None


class Verdict(BaseModel):
    """The judge's answer, with every number it rests on."""

    verdict: VerdictKind
    reasons: list[str]
    candidate_version: str
    incumbent_version: str
    campaign: list[MetricDelta]
    golden: list[MetricDelta] = Field(default_factory=list)
    safety: list[SafetyCheck] = Field(default_factory=list)
    new_collisions: list[RunRef] = Field(default_factory=list)
    missed_people: list[RunRef] = Field(default_factory=list)
    golden_regressions: list[RunRef] = Field(default_factory=list)
    failed_runs: list[RunRef] = Field(default_factory=list)
    runs: dict[str, int] = Field(default_factory=dict, description="runs counted, by group")
    golden_version: int | None = None
    golden_sha256: str | None = None
    evidence_sha256: str = Field(description="hash of the runs, suite and config judged")
    config: JudgeConfig

    def delta(self, metric: str, suite: Literal["campaign", "golden"] = "campaign") -> MetricDelta:
        for d in self.campaign if suite == "campaign" else self.golden:
            if d.metric == metric:
                return d
        raise KeyError(metric)


class JudgeCandidateRequest(BaseModel):
    """Judge a candidate policy on a stored campaign (and a golden suite version)."""

    campaign_id: str = Field(min_length=1)
    candidate_version: str = Field(min_length=1)
    incumbent_version: str = Field(min_length=1)
    golden_version: int | None = Field(
        None, ge=1, description="judge the golden suite too (its runs are read from the campaign)"
    )
    golden_campaign_id: str | None = Field(
        None, description="campaign holding the golden-suite runs; default: campaign_id"
    )
    out_dir: str | None = Field(None, description="report folder; default DATA_DIR/judge/<id>")
    config: JudgeConfig = Field(default_factory=JudgeConfig)


class JudgeCandidateResult(BaseModel):
    """The verdict and where its report is."""

    verdict: Verdict
    report_dir: str
    report_path: str
