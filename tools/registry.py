"""One registry of typed tools: what agents, the OpenAI backend and the HTTP API may call.

A tool is a plain function ``fn(request: InModel, ctx: ToolContext) -> OutModel`` whose
docstring says when to use it. ``@tool`` registers it once; the same entry gives the JSON
schema for OpenAI tool calling (from the pydantic input model) and validates arguments that
arrive as JSON. Tools that act on physical robots are marked ``acts_on_fleet``: they check
an approval record themselves, so being called by an agent authorizes nothing. The registry
checks first, before the arguments are even parsed, that such a call names an approval that
exists and was decided "approved" by a person; the tool then checks that it covers exactly
this action, artifact and robots, once.
"""

from __future__ import annotations

import importlib
import inspect
import json
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from robotops.errors import InvalidRequestError, NotFoundError
from robotops.tools.approvals.errors import ApprovalRequiredError

# Modules that define tools; imported by load_tools() so every entry is registered.
TOOL_MODULES: list[str] = [
    "robotops.tools.tool_defs",
    "robotops.sim.scenarios.tools",
    "robotops.sim.campaign.tools",
    "robotops.tools.judge.tool",
    "robotops.tools.datasets.tools",
    "robotops.tools.rollout.tools",
]


@dataclass(frozen=True)
class ToolSpec:
    """A registered tool: its name, when to use it, its typed input and output."""

    name: str
    description: str
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    fn: Callable[[Any, Any], BaseModel]
    acts_on_fleet: bool = False

    def openai_schema(self) -> dict[str, Any]:
        """The tool as an OpenAI ``tools`` entry (function calling)."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.input_model.model_json_schema(),
            },
        }

    def parse(self, arguments: dict[str, Any] | str | BaseModel) -> BaseModel:
        """Validate arguments (a dict, a JSON string from an LLM, or the model itself)."""
        if isinstance(arguments, self.input_model):
            return arguments
        try:
            if isinstance(arguments, str):
                return self.input_model.model_validate_json(arguments or "{}")
            if isinstance(arguments, BaseModel):
                arguments = arguments.model_dump()
            return self.input_model.model_validate(arguments)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "arguments"
            raise InvalidRequestError(f"tool {self.name}: {where}: {first['msg']}") from exc

    def invoke(self, arguments: dict[str, Any] | str | BaseModel, ctx: Any) -> BaseModel:
        """Run the tool; an acting tool first needs an approved approval named in its arguments."""
        if self.acts_on_fleet:
            self._check_approval(arguments, ctx)
        return self.fn(self.parse(arguments), ctx)

    def public(self) -> dict[str, Any]:
        """What the HTTP API lists: name, when to use it, input and output schemas."""
        return {
            "name": self.name,
            "description": self.description,
            "acts_on_fleet": self.acts_on_fleet,
            "input_schema": self.input_model.model_json_schema(),
            "output_schema": self.output_model.model_json_schema(),
        }

    def _check_approval(self, arguments: dict[str, Any] | str | BaseModel, ctx: Any) -> None:
        approval_id = _approval_id(arguments)
        if not approval_id:
            raise ApprovalRequiredError(self.name, "-", ["-"], "no approval_id given")
        try:
            approval = ctx.approvals.store.get(approval_id)
        except NotFoundError:
            raise ApprovalRequiredError(
                self.name, "-", ["-"], f"no approval request {approval_id!r}"
            ) from None
        if approval.status not in ("approved", "used"):
            raise ApprovalRequiredError(
                self.name,
                approval.artifact_sha256,
                approval.targets,
                f"approval {approval_id} is {approval.status}",
            )


def _approval_id(arguments: dict[str, Any] | str | BaseModel) -> str | None:
    """The approval an acting call names, read without trusting anything else in it."""
    if isinstance(arguments, BaseModel):
        value = getattr(arguments, "approval_id", None)
    elif isinstance(arguments, str):
        try:
            loaded = json.loads(arguments or "{}")
        except ValueError:
            return None
        value = loaded.get("approval_id") if isinstance(loaded, dict) else None
    else:
        value = arguments.get("approval_id")
    return value if isinstance(value, str) and value else None


REGISTRY: dict[str, ToolSpec] = {}


def _models(fn: Callable[..., Any]) -> tuple[type[BaseModel], type[BaseModel]]:
    hints = typing.get_type_hints(fn)
    params = list(inspect.signature(fn).parameters)
    if not params:
        raise TypeError(f"tool {fn.__name__} must take a request model")
    inp, out = hints.get(params[0]), hints.get("return")
    for what, model in (("input", inp), ("output", out)):
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise TypeError(f"tool {fn.__name__}: {what} must be a pydantic model")
    return inp, out  # type: ignore[return-value]


def tool(
    name: str | None = None, *, acts_on_fleet: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn`` as a tool; the function itself is returned unchanged."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        inp, out = _models(fn)
        tool_name = name or fn.__name__
        doc = inspect.getdoc(fn) or ""
        if not doc:
            raise TypeError(f"tool {tool_name} needs a docstring saying when to use it")
        if acts_on_fleet and "approval_id" not in inp.model_fields:
            raise TypeError(
                f"tool {tool_name} acts on the fleet: its input model {inp.__name__} needs an "
                "approval_id field (the registry checks it before the tool runs)"
            )
        existing = REGISTRY.get(tool_name)
        if existing is not None and existing.fn.__qualname__ != fn.__qualname__:
            raise TypeError(f"tool name {tool_name!r} registered twice")
        REGISTRY[tool_name] = ToolSpec(tool_name, doc, inp, out, fn, acts_on_fleet)
        return fn

    return register


def load_tools() -> dict[str, ToolSpec]:
    """Import every tool module so the registry is complete; returns it."""
    for module in TOOL_MODULES:
        importlib.import_module(module)
    return REGISTRY


def get_tool(name: str) -> ToolSpec:
    tools = load_tools()
    if name not in tools:
        raise NotFoundError("tool", name, sorted(tools))
    return tools[name]
