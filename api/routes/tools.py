"""The default toolsets over HTTP: what the agents can do, callable by people and scripts too.

Listing needs a viewer token; calling needs an engineer. Tools that act on the fleet still
check their approval inside the tool, whoever calls them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body

from robotops.api.agent_runs import tool_context
from robotops.api.deps import Deps, Engineer, Viewer
from robotops.tools.defaults import all_tools

router = APIRouter(prefix="/tools", tags=["tools"])


@router.get("")
def list_tools(_: Viewer) -> list[dict[str, Any]]:
    """Every default tool: name, when to use it, whether it acts on robots, its schemas."""
    return [spec.public() for _, spec in sorted(all_tools().tools.items())]


@router.post("/{name}")
def call_tool(
    name: str,
    deps: Deps,
    actor: Engineer,
    arguments: dict[str, Any] = Body(default_factory=dict),  # noqa: B008
) -> dict[str, Any]:
    """Run one tool with JSON arguments (validated against its input schema)."""
    spec = all_tools().get(name)
    ctx = tool_context(deps, actor=actor.name)
    try:
        return spec.invoke(arguments, ctx).model_dump(mode="json")
    finally:
        ctx.close()
