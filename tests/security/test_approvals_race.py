"""Attacks on "used once" and "decided once", against a real API server (uvicorn) over a real
SQLite file: 50 parallel uses of one approval, parallel approve and reject, and every refusal
keeping its audit line (no 500 from a colliding ``audit_log.seq``)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from robotops.api.app import build_deps, create_app
from robotops.api.deps import ApiDeps
from robotops.evals.adversarial import POLICIES, build_world
from robotops.memory.approval_models import Actor, ApprovalCreate, Decision
from robotops.memory.approvals import ApprovalStore
from robotops.settings import FleetSettings, Settings
from robotops.sim.fleet.serve import serve_in_thread
from robotops.sim.fleet.service import create_fleet_app
from robotops.sim.fleet.state import FleetStore
from robotops.tools.approvals.errors import DecisionConflictError
from robotops.tools.approvals.service import ApprovalService

STEWARD = Actor(name="rollout-steward", role="engineer", is_agent=True)
PARALLEL = 50


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], ApiDeps, Path]]:
    build_world(tmp_path / "fleet")
    data = tmp_path / "data"
    data.mkdir()
    people = {"tok-eng-" + "e" * 24: ("maya", "engineer")}
    people |= {f"tok-apr-{i}-" + "a" * 24: (f"approver-{i}", "approver") for i in (1, 2)}
    (data / "api_tokens.json").write_text(
        json.dumps({t: {"name": n, "role": r} for t, (n, r) in people.items()})
    )
    with serve_in_thread(create_fleet_app(tmp_path / "fleet")) as fleet_url:
        settings = Settings(data_dir=data, fleet=FleetSettings(url=fleet_url))
        deps = build_deps(settings)
        with serve_in_thread(create_app(deps)) as url:
            yield url, {n: t for t, (n, _) in people.items()}, deps, tmp_path


def _ask(svc: ApprovalService, targets=("101",)) -> str:
    body = ApprovalCreate(
        action="deploy", artifact_sha256=POLICIES["v9"], targets=list(targets), reason="canary"
    )
    return svc.request(body, STEWARD, caused_by="maya").id


def test_fifty_parallel_uses_of_one_approval_deploy_once_and_each_refusal_is_audited(api):
    url, tokens, deps, root = api
    approval_id = _ask(deps.approvals)
    deps.approvals.decide(
        approval_id, Decision(approve=True), Actor(name="approver-1", role="approver")
    )
    head = {"Authorization": f"Bearer {tokens['maya']}"}

    def use(i: int) -> httpx.Response:
        body = {
            "approval_id": approval_id,
            "policy_version": "v9",
            "robot_ids": ["101"],
            "deployment_id": f"race-{i}",
        }
        return httpx.post(f"{url}/tools/deploy_policy", json=body, headers=head, timeout=120)

    with ThreadPoolExecutor(PARALLEL) as pool:
        replies = list(pool.map(use, range(PARALLEL)))

    codes = Counter(r.status_code for r in replies)
    assert codes == {200: 1, 409: PARALLEL - 1}, codes
    winner = next(r for r in replies if r.status_code == 200).json()
    refused = [r.json()["detail"] for r in replies if r.status_code == 409]
    assert all(f"already used by {winner['deployment']['deployment_id']}" in d for d in refused)
    lines = deps.approvals.store.audit_log(approval_id)
    events = Counter(e.event for e in lines)
    assert events["authorized"] == 1 and events["refused"] == PARALLEL - 1
    assert deps.approvals.store.verify_audit() is None
    assert FleetStore(root / "fleet").load().robots["101"].policy_version == "v9"
    deployments = FleetStore(root / "fleet").load().deployments
    assert [d for d in deployments if d.startswith("race-")] == [
        winner["deployment"]["deployment_id"]
    ]


def test_parallel_approve_and_reject_over_http_exactly_one_wins(api):
    url, tokens, deps, _ = api
    for _ in range(5):
        approval_id = _ask(deps.approvals)

        def decide(who_and_verdict: tuple[str, bool], approval_id=approval_id) -> httpx.Response:
            who, approve = who_and_verdict
            return httpx.post(
                f"{url}/approvals/{approval_id}/decision",
                json={"approve": approve, "comment": who},
                headers={"Authorization": f"Bearer {tokens[who]}"},
                timeout=60,
            )

        with ThreadPoolExecutor(2) as pool:
            replies = list(pool.map(decide, [("approver-1", True), ("approver-2", False)]))
        assert sorted(r.status_code for r in replies) == [200, 409], [r.text for r in replies]
        won = next(r for r in replies if r.status_code == 200).json()["approval"]
        lost = next(r for r in replies if r.status_code == 409).json()["detail"]
        assert f"already {won['status']} by {won['decided_by']}" in lost
        stored = deps.approvals.store.get(approval_id)
        assert (stored.status, stored.decided_by) == (won["status"], won["decided_by"])
        events = [e.event for e in deps.approvals.store.audit_log(approval_id)]
        assert events.count("approved") + events.count("rejected") == 1
        assert events.count("decision_refused") == 1


def test_threads_on_one_sqlite_file_through_separate_stores_decide_once(tmp_path: Path):
    """Separate stores (as separate processes would have) on one file: one decision wins."""
    url = f"sqlite:///{tmp_path / 'approvals.db'}"
    first = ApprovalService(ApprovalStore(url))
    approval_id = _ask(first)
    people = [Actor(name=f"approver-{i}", role="approver") for i in range(20)]

    def decide(actor: Actor) -> str:
        svc = ApprovalService(ApprovalStore(url))
        try:
            svc.decide(approval_id, Decision(approve=actor.name.endswith("0")), actor)
        except DecisionConflictError:
            return "conflict"
        return "won"

    with ThreadPoolExecutor(len(people)) as pool:
        outcomes = Counter(pool.map(decide, people))
    assert outcomes == {"won": 1, "conflict": len(people) - 1}
    assert first.store.verify_audit() is None
    assert len(first.store.audit_log(approval_id)) == len(people) + 1
