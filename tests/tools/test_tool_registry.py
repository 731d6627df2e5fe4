"""The tool registry: every tool is typed, documented and callable by an LLM; acting tools
refuse without a person's approval, whoever calls them and whatever the arguments say."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from pydantic import BaseModel

from robotops.errors import InvalidRequestError, NotFoundError
from robotops.memory.approvals import ApprovalStore
from robotops.settings import Settings
from robotops.tools import registry
from robotops.tools.approvals.errors import ApprovalError
from robotops.tools.approvals.models import Actor, ApprovalCreate, Decision
from robotops.tools.approvals.service import ApprovalService
from robotops.tools.context import ToolContext
from robotops.tools.registry import get_tool, load_tools, tool

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


def test_the_existing_capabilities_are_registered():
    assert set(EXISTING) <= set(load_tools())
    assert get_tool("deploy_policy").acts_on_fleet
    assert not get_tool("search_segments").acts_on_fleet


@pytest.mark.parametrize("name", sorted(load_tools()))
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


@pytest.mark.parametrize("name", [n for n, s in sorted(load_tools().items()) if s.acts_on_fleet])
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


def test_the_registry_refuses_tools_it_could_not_enforce(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(registry, "REGISTRY", {})

    def undocumented(request: _In, ctx: object) -> _Out:
        return _Out(ok=True)

    with pytest.raises(TypeError, match="needs a docstring"):
        tool()(undocumented)

    def untyped(request: dict, ctx: object) -> _Out:
        """Do something."""
        return _Out(ok=True)

    with pytest.raises(TypeError, match="input must be a pydantic model"):
        tool()(untyped)

    def move(request: _In, ctx: object) -> _Out:
        """Move a robot."""
        return _Out(ok=True)

    with pytest.raises(TypeError, match="needs an approval_id field"):
        tool(acts_on_fleet=True)(move)


def test_a_run_context_shares_the_stores_and_only_its_root_closes_them(ctx: ToolContext):
    run = ctx.for_run("thread-1")
    assert run.run_id == "thread-1" and ctx.run_id is None
    assert run.catalog is ctx.catalog  # opened once, by whichever asked first
    assert run.approvals is ctx.approvals  # provided: shared, never closed here
    ctx.close()
    assert ctx.approvals is run.approvals
    assert run.catalog is ctx.catalog  # reopened after close, shared again
    ctx.close()
