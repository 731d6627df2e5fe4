"""The embedded reasoning backend: each task kind has a standard procedure, run deterministically.

Procedures live beside their agents' nodes and register here with ``@procedure("kind")``.
They call tools only through the :class:`Toolbox` they are given, so the same tools, the same
approval checks and the same records apply as with an LLM.
"""

from __future__ import annotations

from collections.abc import Callable

from robotops.agents.reasoning.base import Finding, Report, Task, Toolbox, register_backend
from robotops.errors import ConfigError, RobotOpsError
from robotops.settings import LLMSettings
from robotops.tools.context import ToolContext
from robotops.tools.toolset import ToolSpec

Procedure = Callable[[Task, Toolbox], Report]
PROCEDURES: dict[str, Procedure] = {}


def procedure(kind: str) -> Callable[[Procedure], Procedure]:
    """Register the standard procedure for one kind of task."""

    def add(fn: Procedure) -> Procedure:
        PROCEDURES[kind] = fn
        return fn

    return add


@register_backend("embedded")
class EmbeddedReasoner:
    """Follows the registered procedure; findings are written from the tools' evidence."""

    name = "embedded"

    def __init__(self, settings: LLMSettings | None = None) -> None:
        self.settings = settings

    def run(self, agent: str, task: Task, tools: list[ToolSpec], ctx: ToolContext) -> Finding:
        if task.kind not in PROCEDURES:
            raise ConfigError(
                f"no embedded procedure for task {task.kind!r}; known: {', '.join(PROCEDURES)}"
            )
        box = Toolbox(tools, ctx)
        try:
            report = PROCEDURES[task.kind](task, box)
        except RobotOpsError as exc:
            finding = Finding.failed(agent, task.kind, self.name, str(exc))
        else:
            finding = Finding(
                agent=agent,
                task=task.kind,
                backend=self.name,
                summary=report.summary,
                data=report.data,
            )
        finding.results, finding.tool_calls = box.results, box.calls
        return finding
