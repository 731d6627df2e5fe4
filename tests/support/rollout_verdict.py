"""The judge's verdict a rollout starts from, shared by the rollout tests (tools, agents, API)."""

from __future__ import annotations

from robotops.tools.judge.models import JudgeConfig, Verdict


def verdict(decision: str = "promote", candidate: str = "v2") -> Verdict:
    """A verdict on ``candidate`` over incumbent v1; the evidence hash is a placeholder."""
    return Verdict(
        verdict=decision,  # type: ignore[arg-type]
        reasons=["phantom stops down"],
        candidate_version=candidate,
        incumbent_version="v1",
        campaign=[],
        evidence_sha256="e" * 64,
        config=JudgeConfig(),
    )
