"""Rollouts through the product API: visible to viewers, stoppable by engineers, with tokens."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from rollout_verdict import verdict

from robotops.api.app import build_deps, create_app
from robotops.memory.approval_models import Actor, Decision
from robotops.settings import FleetSettings, Settings
from robotops.sim.fleet.models import RobotShiftMetrics
from robotops.sim.fleet.robot_metrics import write_shift_metrics
from robotops.sim.fleet.serve import serve_in_thread
from robotops.sim.fleet.service import create_fleet_app
from robotops.sim.fleet.state import FleetRecord, FleetStore, PolicyRecord, RobotRecord, ShiftRecord
from robotops.tools.fleet.client import FleetClient
from robotops.tools.rollout.executor import (
    RolloutDeps,
    request_stage_approval,
    run_stage,
    start_rollout,
)
from robotops.tools.rollout.models import Rollout, StagePlan
from robotops.tools.rollout.plan import ProposeRolloutRequest, propose_plan
from robotops.tools.rollout.store import RolloutStore

REPORT = {"stalls": 1, "stall_time_s": 5.0, "phantom_stops": 1, "distance_m": 20.0}


def _report(store: FleetStore) -> None:
    with store.update() as rec:
        shift_id = f"shift-{len(rec.shifts) + 1}"
        rec.shifts.append(
            ShiftRecord(shift_id=shift_id, start_ns=0, duration_s=30, seed=0, hazards=[])
        )
        versions = {r: x.policy_version for r, x in rec.robots.items()}
    write_shift_metrics(
        store.root,
        shift_id,
        [
            RobotShiftMetrics(
                shift_id=shift_id, robot_id=r, zone="A", policy_version=v, hours=30 / 3600, **REPORT
            )
            for r, v in versions.items()
        ],
    )


class _Bake:
    def __init__(self, store: FleetStore) -> None:
        self.store = store

    def bake(self, rollout: Rollout, stage: StagePlan) -> None:
        _report(self.store)


@pytest.fixture
def api(tmp_path: Path):
    store = FleetStore(tmp_path / "fleet")
    store.save(
        FleetRecord(
            robots={
                r: RobotRecord(robot_id=r, zone="A", policy_version="v1") for r in ("101", "102")
            },
            policies={
                v: PolicyRecord(version=v, sha256=v[-1] * 64, path="x") for v in ("v1", "v2")
            },
        )
    )
    _report(store)
    with serve_in_thread(create_fleet_app(store.root)) as fleet_url:
        settings = Settings(data_dir=tmp_path / "data", fleet=FleetSettings(url=fleet_url))
        deps = build_deps(settings)
        with serve_in_thread(create_app(deps)) as url, FleetClient(fleet_url) as fleet:
            rollout_deps = RolloutDeps(
                fleet=fleet,
                approvals=deps.approvals,
                store=RolloutStore(settings.data_dir / "rollouts"),
                baker=_Bake(store),
                confirm_wait_s=0.01,
            )
            tokens = {rec.role: tok for tok, rec in deps.tokens.items()}
            yield url, tokens, rollout_deps, store


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _canary_live(rollout_deps: RolloutDeps) -> str:
    request = ProposeRolloutRequest(candidate_version="v2")
    plan = propose_plan(request, rollout_deps.fleet, verdict())
    ro = start_rollout(plan, rollout_deps)
    approval = request_stage_approval(ro.rollout_id, rollout_deps)
    rollout_deps.approvals.decide(
        approval.id, Decision(approve=True), Actor(name="raj", role="approver")
    )
    run_stage(ro.rollout_id, approval.id, rollout_deps)
    request_stage_approval(ro.rollout_id, rollout_deps)
    return ro.rollout_id


def test_rollouts_show_what_is_live_where_and_who_is_awaited(api) -> None:
    url, tokens, rollout_deps, _ = api
    rollout_id = _canary_live(rollout_deps)
    assert httpx.get(f"{url}/rollouts").status_code == 401
    (view,) = httpx.get(f"{url}/rollouts", headers=auth(tokens["viewer"])).json()
    assert view["rollout_id"] == rollout_id and view["status"] == "awaiting_approval"
    assert view["live"] == {"101": "v2", "102": "v1"}
    assert view["waiting_for"].startswith("an approver's decision on apr-")
    assert all(g["passed"] for g in view["last_gates"])
    full = httpx.get(f"{url}/rollouts/{rollout_id}", headers=auth(tokens["viewer"])).json()
    assert full["rollout"]["plan"]["candidate_sha256"] == "2" * 64
    assert [e["event"] for e in full["rollout"]["history"]][:2] == [
        "proposed",
        "approval_requested",
    ]
    missing = httpx.get(f"{url}/rollouts/ro-nope", headers=auth(tokens["viewer"]))
    assert missing.status_code == 404 and rollout_id in missing.json()["detail"]


def test_an_engineer_aborts_and_the_incumbent_returns(api) -> None:
    url, tokens, rollout_deps, store = api
    rollout_id = _canary_live(rollout_deps)
    body = {"reason": "floor test tonight"}
    viewer = httpx.post(
        f"{url}/rollouts/{rollout_id}/abort", json=body, headers=auth(tokens["viewer"])
    )
    assert viewer.status_code == 403
    done = httpx.post(
        f"{url}/rollouts/{rollout_id}/abort", json=body, headers=auth(tokens["engineer"])
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "rolled_back"
    assert done.json()["reason"] == "aborted by engineer-1: floor test tonight"
    assert {r.policy_version for r in store.load().robots.values()} == {"v1"}
    (incident,) = httpx.get(f"{url}/rollouts/incidents", headers=auth(tokens["viewer"])).json()
    assert incident["rollout_id"] == rollout_id
