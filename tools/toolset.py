"""Toolsets: each ``tools/<domain>/`` exposes its typed tools as one :class:`Toolset` object.

A tool is a plain function ``fn(request: InModel, ctx: ToolContext) -> OutModel`` whose
docstring says when to use it. ``@toolset.tool()`` adds it to its domain's toolset (the model is
pydantic-ai's ``FunctionToolset``); the same entry gives the JSON schema for OpenAI tool calling
(from the pydantic input model) and validates arguments that arrive as JSON. Tools that act on
physical robots are marked ``acts_on_fleet``: the toolset's entry checks first, for every
caller and before the arguments are even parsed, that such a call names an approval that exists
and was decided "approved" by a person; the tool then checks that it covers exactly this action,
artifact and robots, once. Being called by an agent authorizes nothing.

There is no process-wide registry: :func:`robotops.tools.defaults.default_toolsets` assembles
the domains' toolsets, and tests build their own.
"""

from __future__ import annotations

import inspect
import json
import typing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from robotops.errors import InvalidRequestError, NotFoundError
from robotops.tools.approvals.errors import ApprovalRequiredError

ToolFn = Callable[..., BaseModel]


class ToolCaller(Protocol):
    """Something that runs a tool by name: a :class:`Toolset`, an agent's toolbox, a context."""

    def __call__(self, name: str, arguments: dict[str, Any], /) -> Any: ...


@dataclass(frozen=True)
class ToolSpec:
    """A tool: its name, when to use it, its typed input and output, whether it needs approval."""

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


def spec_of(fn: ToolFn, name: str | None = None, *, acts_on_fleet: bool = False) -> ToolSpec:
    """The :class:`ToolSpec` of a typed function, checked: models, docstring, approval field.

    Args:
        fn: ``fn(request: InModel, ctx) -> OutModel`` with a docstring saying when to use it.
        name: the tool's name; the function's name when omitted.
        acts_on_fleet: whether the tool moves robots (it then needs an ``approval_id`` field).

    Returns:
        The spec, ready to be added to a toolset.
    """
    hints = typing.get_type_hints(fn)
    params = list(inspect.signature(fn).parameters)
    if not params:
        raise TypeError(f"tool {fn.__name__} must take a request model")
    inp, out = hints.get(params[0]), hints.get("return")
    for what, model in (("input", inp), ("output", out)):
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise TypeError(f"tool {fn.__name__}: {what} must be a pydantic model")
    tool_name = name or fn.__name__
    doc = inspect.getdoc(fn) or ""
    if not doc:
        raise TypeError(f"tool {tool_name} needs a docstring saying when to use it")
    if acts_on_fleet and "approval_id" not in inp.model_fields:  # type: ignore[union-attr]
        raise TypeError(
            f"tool {tool_name} acts on the fleet: its input model {inp.__name__} needs an "  # type: ignore[union-attr]
            "approval_id field (the toolset checks it before the tool runs)"
        )
    return ToolSpec(tool_name, doc, inp, out, fn, acts_on_fleet)  # type: ignore[arg-type]


class Toolset:
    """The tools of one domain (or any chosen set), by name; approval checks on every call.

    Tools are added with the :meth:`tool` decorator (the function is returned unchanged) or
    :meth:`add`. Toolsets combine with :func:`combine` and narrow with :meth:`without` or
    :meth:`only`, so a test builds exactly the tools it means.
    """

    def __init__(self, name: str, tools: Iterable[ToolSpec] = ()) -> None:
        self.name = name
        self._tools: dict[str, ToolSpec] = {}
        for spec in tools:
            self.add(spec)

    def tool(
        self, name: str | None = None, *, acts_on_fleet: bool = False
    ) -> Callable[[ToolFn], ToolFn]:
        """Decorator adding a typed function as a tool of this toolset.

        Args:
            name: the tool's name; the function's name when omitted.
            acts_on_fleet: the tool moves robots: every call must name an approved approval.

        Returns:
            A decorator that adds the function and returns it unchanged.
        """

        def add(fn: ToolFn) -> ToolFn:
            self.add(spec_of(fn, name, acts_on_fleet=acts_on_fleet))
            return fn

        return add

    def add(self, spec: ToolSpec) -> ToolSpec:
        """Add a tool; a second, different tool under the same name is refused."""
        existing = self._tools.get(spec.name)
        if existing is not None and _qualname(existing.fn) != _qualname(spec.fn):
            raise TypeError(f"tool name {spec.name!r} defined twice (toolset {self.name})")
        self._tools[spec.name] = spec
        return spec

    @property
    def tools(self) -> dict[str, ToolSpec]:
        """Name -> spec (a copy: changing it changes nothing here)."""
        return dict(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._tools))

    def __len__(self) -> int:
        return len(self._tools)

    def get(self, name: str) -> ToolSpec:
        """The tool called ``name``; an unknown name fails listing the known ones."""
        if name not in self._tools:
            raise NotFoundError("tool", name, sorted(self._tools))
        return self._tools[name]

    def invoke(self, name: str, arguments: dict[str, Any] | str | BaseModel, ctx: Any) -> Any:
        """Run tool ``name`` with ``arguments`` in ``ctx`` (approval checked first if it acts)."""
        return self.get(name).invoke(arguments, ctx)

    def without(self, *names: str) -> Toolset:
        """A copy of this toolset lacking ``names``."""
        return Toolset(self.name, [s for n, s in self._tools.items() if n not in names])

    def only(self, names: Iterable[str]) -> Toolset:
        """A copy holding just ``names``; a name not here fails listing the known ones."""
        return Toolset(self.name, [self.get(n) for n in names])

    def replaced(self, *specs: ToolSpec) -> Toolset:
        """A copy where ``specs`` stand in for the tools of the same names (or are added)."""
        by_name = {**self._tools, **{s.name: s for s in specs}}
        return Toolset(self.name, by_name.values())

    def __repr__(self) -> str:
        return f"Toolset({self.name!r}, {sorted(self._tools)})"


def _qualname(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


def combine(toolsets: Iterable[Toolset], name: str = "all") -> Toolset:
    """One toolset holding every tool of ``toolsets``; a name in two of them is refused."""
    combined = Toolset(name)
    for ts in toolsets:
        for spec in ts.tools.values():
            if spec.name in combined and combined.get(spec.name).fn is not spec.fn:
                raise TypeError(f"tool {spec.name!r} is in two toolsets (one is {ts.name})")
            combined.add(spec)
    return combined
