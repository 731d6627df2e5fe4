"""Rollouts in the inbox: what is live where, what waits for whom, and stopping one."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from robotops.api.deps import Deps, Engineer, Viewer
from robotops.tools.fleet.client import FleetClient
from robotops.tools.rollout.executor import RolloutDeps, SimulatedFleetBake, abort
from robotops.tools.rollout.models import Rollout, RolloutIncident, RolloutView, rollout_view
from robotops.tools.rollout.store import RolloutStore

router = APIRouter(prefix="/rollouts", tags=["rollouts"])


def _store(deps: Deps) -> RolloutStore:
    return RolloutStore(deps.settings.data_dir / "rollouts")


class RolloutPublic(BaseModel):
    """A rollout's summary view and its full record (plan, stages, gates, history)."""

    view: RolloutView
    rollout: Rollout


class AbortRequest(BaseModel):
    reason: str = Field(min_length=1, description="why; goes to the audit log and the incident")


@router.get("")
def list_rollouts(deps: Deps, _: Viewer) -> list[RolloutView]:
    return [rollout_view(r) for r in _store(deps).list()]


@router.get("/incidents")
def list_rollout_incidents(deps: Deps, _: Viewer) -> list[RolloutIncident]:
    """Rollbacks filed for triage."""
    return _store(deps).incidents()


@router.get("/{rollout_id}")
def get_rollout(rollout_id: str, deps: Deps, _: Viewer) -> RolloutPublic:
    rollout = _store(deps).load(rollout_id)
    return RolloutPublic(view=rollout_view(rollout), rollout=rollout)


@router.post("/{rollout_id}/abort")
def abort_rollout(rollout_id: str, body: AbortRequest, deps: Deps, actor: Engineer) -> RolloutView:
    """Stop the rollout and restore the incumbent wherever it went; needs no approval."""
    with FleetClient.from_settings(deps.settings) as fleet:
        rollout_deps = RolloutDeps(
            fleet=fleet,
            approvals=deps.approvals,
            store=_store(deps),
            baker=SimulatedFleetBake(fleet),
            actor=actor.name,
        )
        return rollout_view(abort(rollout_id, rollout_deps, actor.name, body.reason))
