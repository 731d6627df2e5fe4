"""Compatibility for tools written the older way: ``@tool`` in a module listed in TOOL_MODULES.

New tools belong to their domain's toolset (``toolset = Toolset("<domain>")`` in
``tools/<domain>/tools.py``, added to :func:`robotops.tools.defaults.default_toolsets`). Until
they move there, ``@tool`` adds a function to the ``registered`` toolset, which the defaults
include after importing every module of :data:`TOOL_MODULES`. ``get_tool`` and ``load_tools``
answer from the default toolsets.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from robotops.tools.toolset import Toolset, ToolSpec, spec_of

__all__ = ["TOOL_MODULES", "ToolSpec", "get_tool", "load_tools", "registered", "tool"]

# Modules that still define tools with ``@tool``; imported when the default toolsets are built.
TOOL_MODULES: list[str] = []

_REGISTERED = Toolset("registered")


def tool(
    name: str | None = None, *, acts_on_fleet: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add ``fn`` to the ``registered`` toolset; the function itself is returned unchanged.

    Args:
        name: the tool's name; the function's name when omitted.
        acts_on_fleet: the tool moves robots: every call must name an approved approval.
    """

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        _REGISTERED.add(spec_of(fn, name, acts_on_fleet=acts_on_fleet))
        return fn

    return register


def registered() -> Toolset:
    """The ``@tool`` functions of every module in :data:`TOOL_MODULES`, as one toolset."""
    for module in TOOL_MODULES:
        importlib.import_module(module)
    return _REGISTERED


def load_tools() -> dict[str, ToolSpec]:
    """Every default tool by name (all the domains' toolsets together)."""
    from robotops.tools.defaults import all_tools

    return all_tools().tools


def get_tool(name: str) -> ToolSpec:
    """The default tool called ``name``; an unknown name fails listing the known ones."""
    from robotops.tools.defaults import all_tools

    return all_tools().get(name)
