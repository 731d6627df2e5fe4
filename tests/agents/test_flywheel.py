"""The flywheel on a tiny real fleet: triage, label, scenarios, a compute gate, training,
judging and a rollout proposal that stops at the approval inbox; a missing tool fails the build."""

from __future__ import annotations

import pytest
import stand_ins
from langgraph.types import Command

from robotops.agents.judge import node as judge_node
from robotops.agents.nightly import run_nightly
from robotops.agents.runner import config, open_graph, outcome
from robotops.agents.training import node as training_node
from robotops.errors import ConfigError
from robotops.memory.approval_models import Actor, Decision
from robotops.tools.context import ToolContext
from robotops.tools.defaults import default_toolsets

RAJ = Actor(name="raj", role="approver")


def _decide(world, approval_id: str, approve: bool) -> None:
    ctx = ToolContext(world.settings)
    ctx.approvals.decide(approval_id, Decision(approve=approve, comment="checked"), RAJ)


def _resume(world, thread_id: str, toolsets) -> dict:
    with open_graph(world.settings, toolsets=toolsets) as graph:
        graph.invoke(Command(resume={"decided": True}), config(thread_id))
        return outcome(graph, thread_id)


def test_the_flywheel_asks_before_compute_and_proposes_nothing_unjudged(
    injected, monkeypatch: pytest.MonkeyPatch
):
    calls: list[str] = []
    toolsets = stand_ins.install(monkeypatch, calls, verdict_kind="reject")
    first = run_nightly(injected.settings, thread_id="night-1", toolsets=toolsets)
    assert first.status == "waiting" and first.waiting_at == ["await_compute_approval"]
    assert set(first.findings) == {"triage", "auto-labeler", "scenario-generator"}
    assert first.findings["triage"].startswith("#101 stalled")
    compute = ToolContext(injected.settings).approvals.store.get(first.approval_id)
    assert (compute.action, compute.targets) == ("campaign", ["compute"])
    assert compute.thread_id == "night-1" and compute.status == "pending"
    assert compute.requested_by == "training-planner" and compute.evidence["episodes"] == 1200
    assert calls == ["generate_scenarios"]

    _decide(injected, compute.id, approve=True)
    done = _resume(injected, "night-1", toolsets)
    assert calls[1:] == [*training_node.TOOLS.tools, *judge_node.TOOLS.tools]
    assert done["verdict"]["verdict"] == "reject"
    assert done["status"] == "done" and not done["error"]  # an honest no is not an error
    assert done["answer"].startswith("no rollout of v9: the judge said reject (stand-in judge)")
    assert [a.action for a in ToolContext(injected.settings).approvals.store.list()] == ["campaign"]
    assert injected.versions() == {"101": "v1", "102": "v1"} and not injected.deployments()
    # nothing new since: the next night has nothing to do
    again = run_nightly(injected.settings, toolsets=toolsets)
    assert again.answer == "no new incidents: nothing to triage"


def test_a_rejected_compute_request_ends_the_run(injected, monkeypatch: pytest.MonkeyPatch):
    calls: list[str] = []
    toolsets = stand_ins.install(monkeypatch, calls, verdict_kind="promote")
    first = run_nightly(injected.settings, thread_id="night-2", toolsets=toolsets)
    _decide(injected, first.approval_id, approve=False)
    done = _resume(injected, "night-2", toolsets)
    assert done["status"] == "done" and "is rejected (raj: checked)" in done["error"]
    assert calls == ["generate_scenarios"]


def test_a_missing_tool_fails_when_the_graph_is_built_naming_it(injected):
    toolsets = {**default_toolsets()}
    toolsets["scenarios"] = toolsets["scenarios"].without("generate_scenarios")
    with pytest.raises(ConfigError, match="scenarios needs tool.s. generate_scenarios"):
        run_nightly(injected.settings, thread_id="night-3", toolsets=toolsets)
    without_set = {k: v for k, v in default_toolsets().items() if k != "judge"}
    with pytest.raises(ConfigError, match="judge needs toolset.s. judge"):
        run_nightly(injected.settings, thread_id="night-3", toolsets=without_set)
    assert ToolContext(injected.settings).approvals.store.list() == []
    assert run_nightly(injected.settings).findings["triage"].startswith("#101")  # not consumed


def test_chat_follow_ups_use_the_threads_last_triage(injected):
    cfg = config("chat-1")
    with open_graph(injected.settings) as graph:
        why = graph.invoke({"question": "why did #101 stall?"}, cfg)
        assert why["intent"] == "triage" and why["triage"]["robot_id"] == "101"
        cause = why["triage"]["diagnosis"]["cause"].replace("_", " ")
        similar = graph.invoke({"question": "show similar incidents"}, cfg)
        assert similar["intent"] == "similar" and similar["findings"]["triage"]["task"] == "similar"
        assert similar["answer"].startswith(f"Segments like #101's {cause} incident")
        assert [c["tool"] for c in similar["findings"]["triage"]["tool_calls"]] == [
            "search_segments"
        ]
        policy = graph.invoke({"question": "what changed in policy v9?"}, cfg)
        assert policy["answer"].startswith("Policy v9 (sha256 999999999999) follows v1")
        assert "Runs on: no robot." in policy["answer"]
        scenarios = graph.invoke({"question": "make scenarios from this"}, cfg)
        assert "cannot rebuild cause 'unknown'" in scenarios["error"]  # the real tool says why
        assert outcome(graph, "chat-1")["status"] == "done"
        assert scenarios["triage"] == why["triage"]  # the context is kept across turns
