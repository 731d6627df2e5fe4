"""The product API over a real server: chat answers from the robot's own data, the inbox
enforces roles and four eyes, and nothing works without a token."""

from __future__ import annotations

import json

import httpx
import pytest

from robotops.api.app import build_deps, create_app
from robotops.memory.approval_models import Actor, ApprovalCreate
from robotops.settings import FleetSettings, Settings
from robotops.sim.fleet.serve import serve_in_thread
from robotops.sim.fleet.service import create_fleet_app
from robotops.sim.fleet.shift import ShiftConfig, run_shift


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("api")
    run_shift(
        root / "fleet", ShiftConfig(robots=2, minutes=0.75, seed=1, hazards=["glare"], workers=2)
    )
    with serve_in_thread(create_fleet_app(root / "fleet")) as fleet_url:
        settings = Settings(data_dir=root / "data", fleet=FleetSettings(url=fleet_url, retries=1))
        deps = build_deps(settings)
        with serve_in_thread(create_app(deps)) as url:
            tokens = {rec.role: tok for tok, rec in deps.tokens.items()}
            yield url, tokens, deps


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sse(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_chat_answers_why_a_robot_stalled_with_citations(api):
    url, tokens, _ = api
    r = httpx.post(
        f"{url}/chat",
        json={"question": "why did #102 stall?"},
        headers=auth(tokens["engineer"]),
        timeout=120,
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = sse(r.text)
    assert [k for k, _ in events][-1] == "answer"
    assert [k for k, _ in events[:-1]] == ["step", "step"]  # route, then triage
    triage = events[-1][1]["triage"]
    assert triage["robot_id"] == "102" and triage["diagnosis"]["cause"] == "glare"
    assert any(c["frame_path"] for c in triage["diagnosis"]["citations"])


def test_chat_reports_an_unknown_robot_as_an_error_event(api):
    url, tokens, _ = api
    r = httpx.post(
        f"{url}/chat",
        json={"question": "why did #999 stall?"},
        headers=auth(tokens["engineer"]),
        timeout=60,
    )
    kind, data = sse(r.text)[-1]
    assert kind == "error" and "known: 101, 102" in data["detail"]


def test_every_endpoint_needs_a_token_and_the_right_role(api):
    url, tokens, _ = api
    assert httpx.get(f"{url}/approvals").status_code == 401
    assert httpx.get(f"{url}/approvals", headers=auth("forged")).status_code == 401
    assert (
        httpx.post(
            f"{url}/chat", json={"question": "x"}, headers=auth(tokens["viewer"])
        ).status_code
        == 403
    )
    assert httpx.get(f"{url}/openapi.json").status_code == 200


def test_the_inbox_enforces_four_eyes(api):
    url, tokens, deps = api
    ask = ApprovalCreate(
        action="deploy", artifact_sha256="a" * 64, targets=["101"], reason="canary"
    )
    theirs = deps.approvals.request(
        ask, Actor(name="rollout-steward", role="engineer", is_agent=True)
    )
    mine = deps.approvals.request(ask, Actor(name="approver-1", role="approver"))

    def decide(rid: str, tok: str) -> httpx.Response:
        body = {"approve": True, "comment": "ok"}
        return httpx.post(f"{url}/approvals/{rid}/decision", json=body, headers=auth(tok))

    assert decide(theirs.id, tokens["engineer"]).status_code == 403
    assert decide(mine.id, tokens["approver"]).status_code == 403  # own request
    ok = decide(theirs.id, tokens["approver"])
    assert ok.status_code == 200 and ok.json()["approval"]["status"] == "approved"
    assert decide(theirs.id, tokens["admin"]).status_code == 409  # already decided
    pending = httpx.get(
        f"{url}/approvals", params={"status": "pending"}, headers=auth(tokens["viewer"])
    )
    assert [a["id"] for a in pending.json()] == [mine.id]
    audit = httpx.get(f"{url}/approvals/audit", headers=auth(tokens["viewer"])).json()
    assert [e["event"] for e in audit].count(
        "decision_refused"
    ) == 2  # the engineer never got past the API


def test_a_deploy_asked_in_chat_waits_for_the_inbox_and_the_decision_resumes_it(api):
    url, tokens, _ = api
    r = httpx.post(
        f"{url}/chat",
        json={"question": "deploy v1 to #101"},
        headers=auth(tokens["engineer"]),
        timeout=60,
    )
    kind, waiting = sse(r.text)[-1]
    assert kind == "waiting" and waiting["waiting_at"] == ["await_approval"]
    decision = httpx.post(
        f"{url}/approvals/{waiting['approval_id']}/decision",
        json={"approve": True, "comment": "canary"},
        headers=auth(tokens["approver"]),
        timeout=60,
    ).json()
    assert decision["thread"]["status"] == "done"
    assert decision["thread"]["deployment"]["robot_ids"] == ["101"]
    assert decision["approval"]["status"] == "used"
