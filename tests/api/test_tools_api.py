"""The tool registry and the approval inbox over a real server: tools listed with their schemas,
called with an engineer token, acting tools still refusing without approval; the inbox CLI;
every API endpoint authenticated; the OpenAPI document served."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from robotops.api.app import build_deps, create_app
from robotops.api.deps import ApiDeps
from robotops.cli import app as cli
from robotops.evals.adversarial import POLICIES, build_world
from robotops.memory.approval_models import Actor, ApprovalCreate
from robotops.settings import FleetSettings, Settings, get_settings
from robotops.sim.fleet.serve import serve_in_thread
from robotops.sim.fleet.service import create_fleet_app
from robotops.sim.fleet.state import FleetStore

PUBLIC = {"/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], ApiDeps, Path]]:
    build_world(tmp_path / "fleet")
    with serve_in_thread(create_fleet_app(tmp_path / "fleet")) as fleet_url:
        settings = Settings(data_dir=tmp_path / "data", fleet=FleetSettings(url=fleet_url))
        deps = build_deps(settings)
        with serve_in_thread(create_app(deps)) as url:
            tokens = {rec.role: tok for tok, rec in deps.tokens.items()}
            yield url, tokens, deps, tmp_path


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_tools_are_listed_with_schemas_and_called_by_engineers(api):
    url, tokens, *_ = api
    listed = httpx.get(f"{url}/tools", headers=auth(tokens["viewer"])).json()
    by_name = {t["name"]: t for t in listed}
    assert by_name["deploy_policy"]["acts_on_fleet"] and "approval_id" in json.dumps(
        by_name["deploy_policy"]["input_schema"]
    )
    assert by_name["list_robots"]["description"].startswith("List the fleet's robots")
    robots = httpx.post(f"{url}/tools/list_robots", json={}, headers=auth(tokens["engineer"]))
    assert [r["robot_id"] for r in robots.json()["robots"]] == ["101", "102"]
    call = httpx.post(f"{url}/tools/list_robots", json={}, headers=auth(tokens["viewer"]))
    assert call.status_code == 403
    assert httpx.post(f"{url}/tools/list_robots", json={}).status_code == 401
    bad = httpx.post(
        f"{url}/tools/search_segments", json={"k": 3}, headers=auth(tokens["engineer"])
    )
    assert bad.status_code == 400 and "text" in bad.json()["detail"]
    missing = httpx.post(f"{url}/tools/launch", json={}, headers=auth(tokens["engineer"]))
    assert missing.status_code == 404 and "deploy_policy" in missing.json()["detail"]


def test_acting_tools_check_approvals_inside_the_tool_over_http(api):
    url, tokens, deps, root = api
    body = {"policy_version": "v9", "robot_ids": ["101"], "deployment_id": "http-1"}
    engineer = auth(tokens["engineer"])
    forged = httpx.post(
        f"{url}/tools/deploy_policy", json={**body, "approval_id": "apr-x"}, headers=engineer
    )
    assert forged.status_code == 403 and "no approval request" in forged.json()["detail"]
    asked = deps.approvals.request(
        ApprovalCreate(
            action="deploy", artifact_sha256=POLICIES["v9"], targets=["101"], reason="canary"
        ),
        Actor(name="rollout-steward", role="engineer", is_agent=True),
    )
    httpx.post(
        f"{url}/approvals/{asked.id}/decision",
        json={"approve": True, "comment": "ok"},
        headers=auth(tokens["approver"]),
    ).raise_for_status()
    stretched = {**body, "robot_ids": ["101", "102"], "approval_id": asked.id}
    refused = httpx.post(f"{url}/tools/deploy_policy", json=stretched, headers=engineer)
    assert refused.status_code == 403 and "does not cover 102" in refused.json()["detail"]
    ok = httpx.post(
        f"{url}/tools/deploy_policy", json={**body, "approval_id": asked.id}, headers=engineer
    )
    assert ok.status_code == 200 and ok.json()["approval"]["decided_by"] == "approver-1"
    assert FleetStore(root / "fleet").load().robots["101"].policy_version == "v9"


def test_every_api_endpoint_needs_a_token_and_openapi_is_served(api):
    url = api[0]
    spec = httpx.get(f"{url}/openapi.json").json()
    routes = [
        (method.upper(), path)
        for path, ops in spec["paths"].items()
        if path not in PUBLIC and not path.startswith("/ui")
        for method in ops
    ]
    assert {
        ("GET", "/tools"),
        ("POST", "/approvals/{request_id}/decision"),
        ("POST", "/chat"),
    } <= set(routes)
    for method, path in routes:
        concrete = path.replace("{request_id}", "apr-1").replace("{name}", "list_robots")
        status = httpx.request(method, url + concrete, json={}).status_code
        assert status == 401, f"{method} {path} answered {status} without a token"


def test_the_inbox_cli_lists_shows_approves_and_rejects_with_comments(api, monkeypatch):
    url, tokens, deps, *_ = api
    monkeypatch.setenv("ROBOTOPS_API__URL", url)
    monkeypatch.setenv("ROBOTOPS_API__TOKEN", tokens["approver"])
    get_settings.cache_clear()
    steward = Actor(name="rollout-steward", role="engineer", is_agent=True)
    ids = [
        deps.approvals.request(
            ApprovalCreate(
                action="deploy", artifact_sha256=POLICIES["v9"], targets=[r], reason=f"to {r}"
            ),
            steward,
        ).id
        for r in ("101", "102")
    ]
    runner = CliRunner()
    listed = runner.invoke(cli, ["inbox", "list", "--json"])
    assert listed.exit_code == 0 and [a["id"] for a in json.loads(listed.stdout)] == ids
    shown = runner.invoke(cli, ["inbox", "show", ids[0]])
    assert shown.exit_code == 0 and "to 101" in shown.stdout and POLICIES["v9"] in shown.stdout
    approved = runner.invoke(cli, ["inbox", "approve", ids[0], "--comment", "canary ok"])
    assert approved.exit_code == 0 and f"{ids[0]}: approved" in approved.stdout
    rejected = runner.invoke(cli, ["inbox", "reject", ids[1], "--comment", "not yet", "--json"])
    decided = json.loads(rejected.stdout)["approval"]
    assert (decided["status"], decided["decision_comment"]) == ("rejected", "not yet")
    again = runner.invoke(cli, ["inbox", "approve", ids[1]])
    assert again.exit_code == 2 and "already rejected" in again.output
