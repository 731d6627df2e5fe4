"""The toolsets: every tool is typed, documented and callable by an LLM; acting tools refuse
without a person's approval, whoever calls them and whatever the arguments say; toolsets narrow
and combine without a global registry; the older ``@tool`` still lands in the defaults."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from pydantic import BaseModel

from robotops.errors import InvalidRequestError, NotFoundError
from robotops.memory.approval_models import Actor, ApprovalCreate, Decision
from robotops.memory.approvals import ApprovalStore
from robotops.settings import Settings
from robotops.tools import registry
from robotops.tools.approvals.errors import ApprovalError
from robotops.tools.approvals.service import ApprovalService
from robotops.tools.context import ToolContext
from robotops.tools.defaults import all_tools, default_toolsets
from robotops.tools.registry import get_tool, load_tools, tool
from robotops.tools.toolset import Toolset, combine

EXISTING = [
    "list_robots",
    "list_incidents",
    "pull_incident_windows",
    "ingest_log",
    "search_segments",
    "diagnose_incident",
    "label_segments",
    "deploy_policy",
    "triage_incident",
    "policy_changes",
]
NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    settings = Settings(data_dir=tmp_path / "data")
    approvals = ApprovalService(ApprovalStore(f"sqlite:///{tmp_path / 'approvals.db'}"))
    return ToolContext(settings, actor="tester").provide(approvals=approvals)


def test_the_existing_capabilities_are_in_the_default_toolsets():
    assert set(EXISTING) <= set(all_tools())
    assert set(load_tools()) == set(all_tools())  # the compatibility shim answers the same
    assert {"fleet", "logs", "labeling", "triage", "scenarios", "campaigns"} <= set(
        default_toolsets()
    )
    assert "deploy_policy" in default_toolsets()["fleet"]
    assert get_tool("deploy_policy").acts_on_fleet
    assert not get_tool("search_segments").acts_on_fleet


@pytest.mark.parametrize("name", list(all_tools()))
def test_every_tool_is_typed_documented_and_has_a_valid_openai_schema(name: str):
    spec = get_tool(name)
    assert NAME.match(spec.name) and len(spec.description) > 20
    assert issubclass(spec.input_model, BaseModel) and issubclass(spec.output_model, BaseModel)
    schema = json.loads(json.dumps(spec.openai_schema()))
    assert schema["type"] == "function" and schema["function"]["name"] == name
    params = schema["function"]["parameters"]
    assert params["type"] == "object"
    jsonschema.Draft202012Validator.check_schema(params)
    jsonschema.Draft202012Validator.check_schema(spec.public()["output_schema"])


@pytest.mark.parametrize(
    "name", [n for n, s in sorted(all_tools().tools.items()) if s.acts_on_fleet]
)
def test_acting_tools_refuse_without_a_granted_approval(name: str, ctx: ToolContext):
    spec = get_tool(name)
    with pytest.raises(ApprovalError, match="no approval_id"):
        spec.invoke({}, ctx)
    with pytest.raises(ApprovalError, match="no approval request 'apr-forged'"):
        spec.invoke({"approval_id": "apr-forged"}, ctx)
    pending = ctx.approvals.request(
        ApprovalCreate(action="deploy", artifact_sha256="a" * 64, targets=["101"], reason="x"),
        Actor(name="rollout-steward", role="engineer", is_agent=True),
    )
    with pytest.raises(ApprovalError, match="is pending"):
        spec.invoke(json.dumps({"approval_id": pending.id}), ctx)
    ctx.approvals.decide(pending.id, Decision(approve=False), Actor(name="raj", role="approver"))
    with pytest.raises(ApprovalError, match="is rejected"):
        spec.invoke({"approval_id": pending.id}, ctx)


def test_arguments_are_validated_with_a_precise_error(ctx: ToolContext):
    with pytest.raises(InvalidRequestError, match="tool search_segments: k: Input should be"):
        get_tool("search_segments").invoke('{"text": "glare", "k": "many"}', ctx)
    with pytest.raises(NotFoundError, match="unknown tool 'launch'.*deploy_policy"):
        get_tool("launch")


class _In(BaseModel):
    robot_id: str


class _Out(BaseModel):
    ok: bool


def test_a_toolset_refuses_tools_it_could_not_enforce():
    ts = Toolset("test")

    def undocumented(request: _In, ctx: object) -> _Out:
        return _Out(ok=True)

    with pytest.raises(TypeError, match="needs a docstring"):
        ts.tool()(undocumented)

    def untyped(request: dict, ctx: object) -> _Out:
        """Do something."""
        return _Out(ok=True)

    with pytest.raises(TypeError, match="input must be a pydantic model"):
        ts.tool()(untyped)

    def move(request: _In, ctx: object) -> _Out:
        """Move a robot."""
        return _Out(ok=True)

    with pytest.raises(TypeError, match="needs an approval_id field"):
        ts.tool(acts_on_fleet=True)(move)
    assert len(ts) == 0


class _Move(BaseModel):
    robot_id: str
    approval_id: str | None = None


def test_a_toolset_of_its_own_enforces_approval_and_narrows_and_combines(ctx: ToolContext):
    ts = Toolset("mine")
    moved: list[str] = []

    @ts.tool("move_robot", acts_on_fleet=True)
    def move_robot(request: _Move, ctx: object) -> _Out:
        """Move a robot (acts on the fleet)."""
        moved.append(request.robot_id)
        return _Out(ok=True)

    @ts.tool()
    def look(request: _In, ctx: object) -> _Out:
        """Look at a robot."""
        return _Out(ok=True)

    assert list(ts) == ["look", "move_robot"] and ts.get("move_robot").acts_on_fleet
    with pytest.raises(ApprovalError, match="no approval_id"):
        ts.invoke("move_robot", {"robot_id": "101"}, ctx)
    assert moved == []  # refused before the tool ran
    assert ts.invoke("look", {"robot_id": "101"}, ctx) == _Out(ok=True)
    assert "move_robot" not in ts.without("move_robot") and "move_robot" in ts
    with pytest.raises(NotFoundError, match="unknown tool 'fly'.*look"):
        ts.only(["fly"])
    both = combine([ts, default_toolsets()["logs"]])
    assert {"look", "move_robot", "search_segments"} <= set(both)
    other = Toolset("other")

    @other.tool("look")
    def look_again(request: _In, ctx: object) -> _Out:
        """Another look."""
        return _Out(ok=True)

    with pytest.raises(TypeError, match="'look' is in two toolsets"):
        combine([ts, other])


def test_the_older_tool_decorator_lands_in_the_default_toolsets(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(registry, "_REGISTERED", Toolset("registered"))
    assert "registered" not in default_toolsets()  # nothing registered the older way: no toolset

    @tool("legacy_ping")
    def legacy_ping(request: _In, ctx: object) -> _Out:
        """Answer ok (a tool written the older way, in a module listed in TOOL_MODULES)."""
        return _Out(ok=True)

    assert "legacy_ping" in default_toolsets()["registered"]
    assert get_tool("legacy_ping").fn is legacy_ping


def test_a_run_context_shares_the_stores_and_only_its_root_closes_them(ctx: ToolContext):
    run = ctx.for_run("thread-1")
    assert run.run_id == "thread-1" and ctx.run_id is None
    assert run.catalog is ctx.catalog  # opened once, by whichever asked first
    assert run.approvals is ctx.approvals  # provided: shared, never closed here
    ctx.close()
    assert ctx.approvals is run.approvals
    assert run.catalog is ctx.catalog  # reopened after close, shared again
    ctx.close()
