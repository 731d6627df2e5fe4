"""The state a flywheel thread carries between nodes (and through checkpoints).

Plain JSON-able values only, so the LangGraph checkpointer stores them without an allow-list
and any process can resume the thread. A chat thread keeps its last triage across turns, so
follow-ups ("show similar incidents", "make scenarios from this") know what "this" is.
"""

from __future__ import annotations

from typing import Annotated, Any, TypedDict


def merge(old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    """Findings accumulate per agent; a new finding of an agent replaces its previous one."""
    return {**(old or {}), **(new or {})}


class FlywheelState(TypedDict, total=False):
    question: str
    intent: str  # triage | similar | scenarios | policy | deploy | flywheel
    since_ns: int | None  # flywheel: only fleet data at or after this log time
    triage: dict[str, Any]  # the thread's last triage answer (TriageAnswer as JSON)
    findings: Annotated[dict[str, Any], merge]  # agent -> its last Finding (as JSON)
    compute_approval_id: str | None  # flywheel: approval of a large campaign / training
    verdict: dict[str, Any]  # the judge's Verdict (JSON), for the rollout steward
    candidate_version: str
    rollout_id: str  # the rollout the steward proposed (agents/rollout/stages.py)
    rollout: dict[str, Any]  # its current view: stages, status, what it waits for
    rollout_approval_id: str | None  # the current stage's approval request
    proposal: dict[str, Any]  # chat deploy: what to deploy where
    approval_id: str  # chat deploy: its approval request
    deployment: dict[str, Any]
    answer: str
    error: str | None
