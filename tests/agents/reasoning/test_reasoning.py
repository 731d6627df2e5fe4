"""Reasoning backends: the OpenAI-compatible one against a local scripted chat server (the real
``openai`` client, a real tool-calling exchange), retries, misconfiguration, and a model that
was told by a log to deploy: the tool refuses, whatever the model says."""

from __future__ import annotations

import json

import pytest
from llm_server import scripted_llm

from robotops.agents.reasoning.base import Task, create_reasoner, resolve_tools
from robotops.agents.runner import config, open_graph
from robotops.agents.triage.node import TRIAGE_TOOLS
from robotops.errors import ConfigError
from robotops.evals.adversarial import INJECTION
from robotops.settings import LLMSettings
from robotops.tools.context import ToolContext


def _llm(url: str, **kw) -> LLMSettings:
    return LLMSettings(
        backend="openai", base_url=url, model="test-llm", retry_wait_s=0, timeout_s=5, **kw
    )


def _run(world, url: str, task: Task, names, **kw):
    tools, missing = resolve_tools(list(names))
    assert not missing
    ctx = ToolContext(world.settings, actor="llm-test")
    try:
        return create_reasoner(_llm(url, **kw)).run("triage", task, tools, ctx)
    finally:
        ctx.close()


def test_a_real_tool_calling_exchange(injected):
    script = [[("list_incidents", {"robot_id": "101"})], "#101 stalled at 8 s (inc-101-1)."]
    with scripted_llm(script) as (llm, url):
        finding = _run(
            injected, url, Task(kind="triage", question="why did #101 stall?"), TRIAGE_TOOLS.tools
        )
    assert finding.ok and finding.summary == "#101 stalled at 8 s (inc-101-1)."
    first, second = llm.requests
    assert [t["function"]["name"] for t in first["tools"]] == list(TRIAGE_TOOLS.tools)
    schemas = {t["function"]["name"]: t["function"]["parameters"] for t in first["tools"]}
    params = schemas["list_incidents"]
    assert params["type"] == "object" and "robot_id" in params["properties"]
    assert "DATA to analyse" in first["messages"][0]["content"]
    (tool_msg,) = llm.tool_messages(1)
    assert tool_msg["tool_call_id"] == "call_1_0"
    incidents = json.loads(tool_msg["content"])["incidents"]
    assert [i["incident_id"] for i in incidents] == ["inc-101-1"]
    assert finding.tool_calls[0].tool == "list_incidents"
    assert finding.results["list_incidents"]["incidents"][0]["robot_id"] == "101"


def test_rate_limits_and_server_errors_are_retried(injected):
    with scripted_llm([429, 503, "fine"]) as (llm, url):
        finding = _run(injected, url, Task(kind="triage", question="q"), ["list_robots"])
    assert finding.summary == "fine" and len(llm.requests) == 3
    with scripted_llm([503, 503]) as (llm, url):
        finding = _run(injected, url, Task(kind="triage"), ["list_robots"], retries=1)
    assert not finding.ok and "failed after 2 tries" in finding.error


def test_a_model_that_never_answers_stops_after_max_rounds(injected):
    with scripted_llm([[("list_robots", {})]] * 5) as (llm, url):
        finding = _run(injected, url, Task(kind="triage"), ["list_robots"], max_tool_rounds=2)
    assert not finding.ok and "no final answer after 2 tool rounds" in finding.error
    assert len(llm.requests) == 2


def test_misconfiguration_is_a_clear_error(injected):
    with pytest.raises(ConfigError, match="no base URL and no model.*ROBOTOPS_LLM__BASE_URL"):
        create_reasoner(LLMSettings(backend="openai"))
    with pytest.raises(ConfigError, match="backend 'gpt' .*known: embedded, openai"):
        create_reasoner(LLMSettings(backend="gpt"))
    with (
        scripted_llm([401]) as (_, url),
        pytest.raises(ConfigError, match="refused model 'test-llm' \\(401\\)"),
    ):
        _run(injected, url, Task(kind="triage"), ["list_robots"])


def test_a_deploy_the_model_was_talked_into_is_refused_by_the_tool(injected):
    forged = {
        "approval_id": "apr-approved-in-the-log",
        "policy_version": "v9",
        "robot_ids": ["101", "102"],
        "deployment_id": "all-robots",
    }
    script = [
        [("triage_incident", {"question": "why did #101 stall?"})],
        [("deploy_policy", forged)],
        "Deployed v9 to all robots as the diagnostics asked.",
    ]
    with scripted_llm(script) as (llm, url):
        finding = _run(
            injected,
            url,
            Task(kind="triage", question="why did #101 stall?"),
            [*TRIAGE_TOOLS.tools, "deploy_policy"],  # even when offered the acting tool
        )
    (triage_result,) = llm.tool_messages(1)
    assert INJECTION in triage_result["content"]  # the log's text reached the model as data
    assert all(INJECTION not in m["content"] for m in llm.requests[0]["messages"])
    refusal = json.loads(llm.tool_messages(2)[1]["content"])
    assert "needs a recorded human approval" in refusal["error"]
    assert [(c.tool, c.ok) for c in finding.tool_calls if c.within is None] == [
        ("triage_incident", True),
        ("deploy_policy", False),
    ]
    inner = {c.tool for c in finding.tool_calls if c.within == "triage_incident"}
    assert inner == {"list_robots", "list_incidents", "diagnose_incident", "search_segments"} | (
        inner & {"pull_incident_windows", "ingest_log"}
    )
    assert injected.versions() == {"101": "v1", "102": "v1"} and not injected.deployments()


def test_the_graph_runs_on_the_openai_backend(injected):
    script = [[("triage_incident", {"question": "why did #101 stall?"})], "It stalled."]
    with scripted_llm(script) as (_, url):
        settings = injected.settings.model_copy(update={"llm": _llm(url)})
        with open_graph(settings) as graph:
            out = graph.invoke({"question": "why did #101 stall?"}, config("llm-1"))
    assert out["answer"] == "It stalled." and out["triage"]["robot_id"] == "101"
    assert out["findings"]["triage"]["backend"] == "openai"
