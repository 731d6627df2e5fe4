"""The state a flywheel thread carries between nodes (and through checkpoints).

Plain JSON-able values only, so the LangGraph checkpointer stores them without an allow-list
and any process can resume the thread.
"""

from __future__ import annotations

from typing import Any, TypedDict


class FlywheelState(TypedDict, total=False):
    question: str
    intent: str
    triage: dict[str, Any]
    proposal: dict[str, Any]
    approval_id: str
    deployment: dict[str, Any]
    answer: str
    error: str
