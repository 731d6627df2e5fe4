"""One interface for how an agent reasons: given a task and its tools, produce a finding.

Backends register under a name (``embedded``, ``openai``); settings pick one. Both run the
same registered tools through a :class:`Toolbox`, which records every call and its result.
A finding is plain JSON-able data, so the graph can checkpoint it and any process resume it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

from pydantic import BaseModel, Field

from robotops.errors import ConfigError, NotFoundError, RobotOpsError
from robotops.settings import LLMSettings
from robotops.tools.context import ToolContext
from robotops.tools.registry import ToolSpec, load_tools


class Task(BaseModel):
    """What an agent is asked: the kind of task, the person's words, and prior findings as data."""

    kind: str = Field(description="which standard procedure applies, e.g. 'triage', 'similar'")
    question: str = ""
    inputs: dict[str, Any] = Field(default_factory=dict, description="JSON-able evidence")


class ToolCall(BaseModel):
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    ok: bool = True
    error: str | None = None


class Report(BaseModel):
    """What an embedded procedure concludes: the answer in words and data for the next node."""

    summary: str
    data: dict[str, Any] = Field(default_factory=dict)


class Finding(BaseModel):
    """What an agent found, how (its tool calls), and each tool's last result by tool name."""

    agent: str
    task: str
    backend: str
    ok: bool = True
    summary: str = ""
    error: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    results: dict[str, Any] = Field(default_factory=dict, description="tool name -> last result")
    tool_calls: list[ToolCall] = Field(default_factory=list)

    @classmethod
    def failed(cls, agent: str, task: str, backend: str, error: str) -> Finding:
        return cls(agent=agent, task=task, backend=backend, ok=False, error=error, summary=error)


class Toolbox:
    """The tools one agent may use in one task; records each call and keeps the results."""

    def __init__(self, tools: list[ToolSpec], ctx: ToolContext) -> None:
        self.tools = {t.name: t for t in tools}
        self.ctx = ctx
        self.calls: list[ToolCall] = []
        self.results: dict[str, Any] = {}

    def call(self, name: str, arguments: dict[str, Any] | str) -> BaseModel:
        """Invoke a tool by name; failures are recorded, then raised."""
        args = _as_dict(arguments)
        if name not in self.tools:
            self.calls.append(ToolCall(tool=name, arguments=args, ok=False, error="not allowed"))
            raise NotFoundError("tool for this agent", name, sorted(self.tools))
        try:
            out = self.tools[name].invoke(arguments, self.ctx)
        except RobotOpsError as exc:
            self.calls.append(ToolCall(tool=name, arguments=args, ok=False, error=str(exc)))
            raise
        self.calls.append(ToolCall(tool=name, arguments=args))
        self.results[name] = out.model_dump(mode="json")
        return out


def _as_dict(arguments: dict[str, Any] | str) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments
    try:
        loaded = json.loads(arguments or "{}")
    except ValueError:
        return {"_unparsed": arguments[:500]}
    return loaded if isinstance(loaded, dict) else {"_value": loaded}


class Reasoner(Protocol):
    name: str

    def run(self, agent: str, task: Task, tools: list[ToolSpec], ctx: ToolContext) -> Finding:
        """Carry out ``task`` as ``agent`` with ``tools``; never raises for a tool's failure."""
        ...


BACKENDS: dict[str, Callable[[LLMSettings], Reasoner]] = {}


def register_backend(name: str) -> Callable[[Callable[[LLMSettings], Reasoner]], Any]:
    def add(factory: Callable[[LLMSettings], Reasoner]) -> Callable[[LLMSettings], Reasoner]:
        BACKENDS[name] = factory
        return factory

    return add


def create_reasoner(settings: LLMSettings) -> Reasoner:
    """The backend the settings name; an unknown name lists the known ones."""
    from robotops.agents.reasoning import embedded, openai_chat  # noqa: F401  (register)

    if settings.backend not in BACKENDS:
        raise ConfigError(
            f"unknown reasoning backend {settings.backend!r} (ROBOTOPS_LLM__BACKEND); "
            f"known: {', '.join(sorted(BACKENDS))}"
        )
    return BACKENDS[settings.backend](settings)


def resolve_tools(names: list[str]) -> tuple[list[ToolSpec], list[str]]:
    """The registered tools among ``names``, and the names not registered (yet)."""
    registry = load_tools()
    return [registry[n] for n in names if n in registry], [n for n in names if n not in registry]


def run_agent(
    reasoner: Reasoner, ctx: ToolContext, agent: str, task: Task, tool_names: list[str]
) -> Finding:
    """Run one agent's task, or a clear failed finding when a tool it needs is not registered."""
    tools, missing = resolve_tools(tool_names)
    if missing:
        known = ", ".join(sorted(load_tools()))
        return Finding.failed(
            agent,
            task.kind,
            reasoner.name,
            f"{agent} cannot {task.kind}: tool(s) {', '.join(missing)} not registered "
            f"(registered: {known})",
        )
    return reasoner.run(agent, task, tools, ctx)


def recorded(finding: Finding, **extra: Any) -> dict[str, Any]:
    """The state update a node makes with a finding: stored under its agent, answer, error."""
    return {
        "findings": {finding.agent: finding.model_dump(mode="json")},
        "answer": finding.summary,
        "error": None if finding.ok else finding.error,
        **extra,
    }
