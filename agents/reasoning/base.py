"""One interface for how an agent reasons: given a task and its tools, produce a finding.

Backends register under a name (``embedded``, ``openai``); settings pick one. Both run the
same tools through a :class:`Toolbox`, which records every call (the calls a tool makes of other
tools too) and each top-level call's result. A node declares what it uses (:class:`Uses`: its
toolsets and the tools it needs of them); building the graph checks every declaration.
A finding is plain JSON-able data, so the graph can checkpoint it and any process resume it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, Field

from robotops.errors import ConfigError, NotFoundError, RobotOpsError
from robotops.settings import LLMSettings
from robotops.tools.context import ToolContext
from robotops.tools.toolset import Toolset, ToolSpec, combine


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
    within: str | None = Field(None, description="the tool that made this call, if a tool did")


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
    """The tools one agent may use in one task; records each call and keeps the results.

    Tools that call other tools (``ctx.call``) go through this toolbox too: the inner calls are
    allowed or refused, checked and recorded like the agent's own (``within`` says by which
    tool); ``results`` keeps the agent's own calls' results, by tool name.
    """

    def __init__(self, tools: list[ToolSpec], ctx: ToolContext) -> None:
        self.tools = {t.name: t for t in tools}
        self.ctx = ctx.with_caller(self.call)
        self.calls: list[ToolCall] = []
        self.results: dict[str, Any] = {}
        self._running: list[str] = []

    def call(self, name: str, arguments: dict[str, Any] | str) -> BaseModel:
        """Invoke a tool by name; failures are recorded, then raised."""
        args = _as_dict(arguments)
        within = self._running[-1] if self._running else None
        if name not in self.tools:
            self.calls.append(
                ToolCall(tool=name, arguments=args, ok=False, error="not allowed", within=within)
            )
            raise NotFoundError("tool for this agent", name, sorted(self.tools))
        at = len(self.calls)  # inner calls are recorded after this one, in the order made
        self._running.append(name)
        try:
            out = self.tools[name].invoke(arguments, self.ctx)
        except RobotOpsError as exc:
            self.calls.insert(
                at, ToolCall(tool=name, arguments=args, ok=False, error=str(exc), within=within)
            )
            raise
        finally:
            self._running.pop()
        self.calls.insert(at, ToolCall(tool=name, arguments=args, within=within))
        if within is None:
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


@dataclass(frozen=True)
class Uses:
    """What a node works through: the toolsets it draws on and the tools it needs of them."""

    toolsets: tuple[str, ...]
    tools: tuple[str, ...]

    def resolve(self, toolsets: Mapping[str, Toolset], node: str = "node") -> list[ToolSpec]:
        """The tools, from ``toolsets``; a missing toolset or tool fails naming it."""
        absent = [n for n in self.toolsets if n not in toolsets]
        if absent:
            raise ConfigError(
                f"{node} needs toolset(s) {', '.join(absent)}; given: {', '.join(sorted(toolsets))}"
            )
        pool = combine((toolsets[n] for n in self.toolsets), name="+".join(self.toolsets))
        missing = [t for t in self.tools if t not in pool]
        if missing:
            raise ConfigError(
                f"{node} needs tool(s) {', '.join(missing)}, not in toolset(s) "
                f"{', '.join(self.toolsets)} (they have: {', '.join(pool) or 'nothing'})"
            )
        return [pool.get(t) for t in self.tools]


def resolve_tools(
    names: list[str], toolsets: Mapping[str, Toolset] | None = None
) -> tuple[list[ToolSpec], list[str]]:
    """The tools among ``names`` in ``toolsets`` (default: every domain's), and those missing."""
    from robotops.tools.defaults import default_toolsets

    pool = combine((toolsets or default_toolsets()).values())
    return [pool.get(n) for n in names if n in pool], [n for n in names if n not in pool]


def run_agent(
    reasoner: Reasoner, ctx: ToolContext, agent: str, task: Task, tools: list[ToolSpec]
) -> Finding:
    """Run one agent's task with exactly ``tools`` (a node's :class:`Uses`, resolved)."""
    return reasoner.run(agent, task, tools, ctx)


def recorded(finding: Finding, **extra: Any) -> dict[str, Any]:
    """The state update a node makes with a finding: stored under its agent, answer, error."""
    return {
        "findings": {finding.agent: finding.model_dump(mode="json")},
        "answer": finding.summary,
        "error": None if finding.ok else finding.error,
        **extra,
    }
