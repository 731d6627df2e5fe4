"""Adapters from the pages to services that may not be installed or may hold nothing yet.

Each function imports its service lazily and answers ``None`` (or an empty list) when the
module or its data is absent, so a page can say "no campaigns yet" instead of failing.
What they expect:

- campaigns: ``robotops.sim.campaign.store.CampaignStore.from_settings(settings)`` with
  ``campaign_ids() -> list[str]``, ``campaign(id) -> (total, [PolicyRef])`` and
  ``results(id) -> list[RunResult]``; the file is DATA_DIR/campaigns.db.
- verdicts: judge reports as ``DATA_DIR/judge/<folder>/verdict.json`` (a
  ``robotops.tools.judge.models.Verdict``); a report belongs to a campaign when its folder name
  starts with the campaign id or one of its run references names the campaign.
- rollouts: ``robotops.tools.rollout.store.RolloutStore(DATA_DIR / "rollouts").list()`` and
  ``robotops.tools.rollout.models.rollout_view(rollout) -> RolloutView`` (status, stage, what
  is live where, what it waits for, the last gate values): the same view ``GET /rollouts``
  answers with.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from robotops.settings import Settings


class CampaignSummary(BaseModel):
    campaign_id: str
    total: int
    finished: int
    failed: int
    policies: list[str]


class VerdictView(BaseModel):
    report_dir: str
    verdict: Any = Field(None, description="a robotops.tools.judge.models.Verdict")
    error: str | None = Field(None, description="why verdict.json could not be read")
    plots: list[str] = Field(default_factory=list)


def _module(name: str) -> ModuleType | None:
    """The module ``name``, None when it is absent; a module that is there but fails to import
    (one of its own imports missing) raises, rather than reading as "nothing yet"."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            return None
        raise


def campaign_store(settings: Settings) -> Any | None:
    """The campaign store, if the module is installed and a campaign was ever stored."""
    module = _module("robotops.sim.campaign.store")
    if module is None or not (Path(settings.data_dir) / "campaigns.db").is_file():
        return None
    return module.CampaignStore.from_settings(settings)


def campaign_ids(settings: Settings) -> list[str]:
    """The stored campaigns' ids (empty when there is no store)."""
    store = campaign_store(settings)
    return [] if store is None else store.campaign_ids()


def campaigns(settings: Settings) -> list[CampaignSummary]:
    store = campaign_store(settings)
    if store is None:
        return []
    out = []
    for cid in store.campaign_ids():
        total, policies = store.campaign(cid)
        runs = store.results(cid)
        out.append(
            CampaignSummary(
                campaign_id=cid,
                total=total,
                finished=len(runs),
                failed=sum(r.status == "failed" for r in runs),
                policies=[getattr(p, "version", str(p)) for p in policies],
            )
        )
    return out


def campaign_runs(settings: Settings, campaign_id: str) -> list[Any] | None:
    """The campaign's RunResults; None when there is no such campaign (or no store)."""
    store = campaign_store(settings)
    if store is None or campaign_id not in store.campaign_ids():
        return None
    return store.results(campaign_id)


def verdicts(settings: Settings, campaign_id: str) -> list[VerdictView]:
    """The judge's verdicts on this campaign, newest report first."""
    models = _module("robotops.tools.judge.models")
    root = Path(settings.data_dir) / "judge"
    if models is None or not root.is_dir():
        return []
    found = []
    for path in sorted(root.glob("*/verdict.json"), key=lambda p: p.stat().st_mtime, reverse=True):
        plots = sorted(str(p) for p in path.parent.glob("*.png"))
        try:
            verdict = models.Verdict.model_validate_json(path.read_text())
        except (OSError, ValidationError) as exc:
            if path.parent.name.startswith(campaign_id):
                error = f"{path} is not a readable verdict: {exc}"
                found.append(VerdictView(report_dir=str(path.parent), error=error, plots=plots))
            continue
        if path.parent.name.startswith(campaign_id) or campaign_id in _campaigns_named(verdict):
            found.append(VerdictView(report_dir=str(path.parent), verdict=verdict, plots=plots))
    return found


def _campaigns_named(verdict: Any) -> set[str]:
    refs = [*verdict.new_collisions, *verdict.missed_people, *verdict.failed_runs]
    refs += [*verdict.golden_regressions, *(c.run for c in verdict.safety if c.run)]
    return {r.campaign_id for r in refs}


def rollouts(settings: Settings) -> list[Any]:
    """Every rollout's RolloutView; empty when the rollout module is absent or none was made."""
    store = _module("robotops.tools.rollout.store")
    models = _module("robotops.tools.rollout.models")
    root = Path(settings.data_dir) / "rollouts"
    if store is None or models is None or not root.is_dir():
        return []
    return [models.rollout_view(r) for r in store.RolloutStore(root).list()]
