"""The nightly flywheel: run the whole loop on fleet data that is new since the last run.

Each run is its own checkpointed thread (``nightly-<UTC time>``); it goes as far as it can
without a person and stops at the approval inbox (or at the first error, or when nothing is
new). A watermark in DATA_DIR/nightly.json remembers the newest incident already handled.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from robotops.agents.graph import FLYWHEEL_QUESTION
from robotops.agents.runner import config, open_graph, outcome
from robotops.errors import ConfigError
from robotops.settings import Settings
from robotops.tools.toolset import Toolset


class NightlyResult(BaseModel):
    """Where a nightly run stopped, and what each agent found on the way."""

    thread_id: str
    status: str = Field(description="waiting (at the inbox), done, or error")
    since_ns: int | None
    waiting_at: list[str] = Field(default_factory=list)
    approval_id: str | None = None
    answer: str = ""
    error: str | None = None
    findings: dict[str, str] = Field(default_factory=dict, description="agent -> summary")


def watermark_path(settings: Settings) -> Path:
    return settings.data_dir / "nightly.json"


def read_watermark(settings: Settings) -> int | None:
    """The newest incident time already handled, + 1 (None before the first run)."""
    path = watermark_path(settings)
    if not path.is_file():
        return None
    try:
        since = json.loads(path.read_text()).get("since_ns")
    except (ValueError, AttributeError):
        since = "unreadable"
    if since is not None and (not isinstance(since, int) or isinstance(since, bool)):
        raise ConfigError(
            f'nightly watermark {path} is not {{"since_ns": <int>}}: fix or delete it '
            "(deleting it re-runs the flywheel on all fleet data)"
        )
    return since


def run_nightly(
    settings: Settings, thread_id: str | None = None, toolsets: dict[str, Toolset] | None = None
) -> NightlyResult:
    """Run the flywheel on new fleet data up to the approval inbox; say where it stopped.

    ``toolsets`` defaults to every domain's (a test passes its own).
    """
    thread_id = thread_id or "nightly-" + dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    since = read_watermark(settings)
    with open_graph(settings, actor="nightly", toolsets=toolsets) as graph:
        graph.invoke({"question": FLYWHEEL_QUESTION, "since_ns": since}, config(thread_id))
        state = outcome(graph, thread_id)
    _advance(settings, state)
    findings = state.get("findings") or {}
    return NightlyResult(
        thread_id=thread_id,
        status="error" if state.get("error") else state["status"],
        since_ns=since,
        waiting_at=state.get("waiting_at", []),
        approval_id=state.get("approval_id") if state["status"] == "waiting" else None,
        answer=state.get("answer", ""),
        error=state.get("error"),
        findings={agent: f.get("summary", "") for agent, f in findings.items()},
    )


def _advance(settings: Settings, state: dict[str, Any]) -> None:
    """Move the watermark past the incidents this run handled (not when it failed)."""
    if state.get("error"):
        return
    triage = (state.get("findings") or {}).get("triage") or {}
    incidents = (triage.get("results") or {}).get("list_incidents", {}).get("incidents") or []
    if incidents:
        newest = max(i["time_ns"] for i in incidents)
        path = watermark_path(settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")  # a crash mid-write never leaves a broken watermark
        tmp.write_text(json.dumps({"since_ns": newest + 1}))
        tmp.replace(path)
