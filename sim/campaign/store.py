"""Campaign results in SQLite, written as each run finishes, so a killed campaign resumes.

One row per (campaign, run id); the run id is derived from the scenario, policy and seed
hashes, so a resumed campaign recognises exactly which runs are done. Scenarios are stored by
content hash beside the results, so any run can be replayed from the store alone.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from robotops.errors import NotFoundError
from robotops.settings import Settings
from robotops.sim.campaign.models import CampaignRequest, PolicyRef, RunResult
from robotops.sim.scenarios.spec import ScenarioSpec

SCHEMA = """
CREATE TABLE IF NOT EXISTS campaigns (
    campaign_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    total INTEGER NOT NULL,
    policies TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS scenarios (
    sha256 TEXT PRIMARY KEY,
    scenario_id TEXT NOT NULL,
    spec TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    campaign_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    status TEXT NOT NULL,
    result TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    PRIMARY KEY (campaign_id, run_id)
);
"""


class CampaignStore:
    """A SQLite file of campaigns, their scenarios and their run results."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")  # persistent: readers never block the writer
            db.executescript(SCHEMA)

    @classmethod
    def from_settings(cls, settings: Settings) -> CampaignStore:
        return cls(Path(settings.data_dir) / "campaigns.db")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        try:
            with db:  # one transaction: committed on success, rolled back on error
                yield db
        finally:
            db.close()

    def register(self, req: CampaignRequest, total: int) -> None:
        """Record a campaign and its scenarios (idempotent: a resume registers again)."""
        now = dt.datetime.now(dt.UTC).isoformat()
        policies = json.dumps([p.model_dump() for p in req.policies], sort_keys=True)
        with self._connect() as db:
            db.execute(
                "INSERT INTO campaigns VALUES (?, ?, ?, ?) ON CONFLICT(campaign_id) DO UPDATE "
                "SET total = excluded.total, policies = excluded.policies",
                (req.campaign_id, now, total, policies),
            )
            db.executemany(
                "INSERT OR IGNORE INTO scenarios VALUES (?, ?, ?)",
                [(s.sha256(), s.scenario_id, s.canonical_json()) for s in req.scenarios],
            )

    def put(self, result: RunResult) -> None:
        """Store one finished run; a later result for the same run replaces it."""
        now = dt.datetime.now(dt.UTC).isoformat()
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?)",
                (result.campaign_id, result.run_id, result.status, result.model_dump_json(), now),
            )

    def finished(self, campaign_id: str, include_failed: bool = True) -> set[str]:
        """Run ids already done (``include_failed=False``: only the ones that succeeded)."""
        query = "SELECT run_id FROM runs WHERE campaign_id = ?"
        if not include_failed:
            query += " AND status = 'ok'"
        with self._connect() as db:
            return {row[0] for row in db.execute(query, (campaign_id,))}

    def results(self, campaign_id: str) -> list[RunResult]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT result FROM runs WHERE campaign_id = ? ORDER BY run_id", (campaign_id,)
            ).fetchall()
        return [RunResult.model_validate_json(r[0]) for r in rows]

    def campaign(self, campaign_id: str) -> tuple[int, list[PolicyRef]]:
        """The campaign's planned number of runs and its policies."""
        with self._connect() as db:
            row = db.execute(
                "SELECT total, policies FROM campaigns WHERE campaign_id = ?", (campaign_id,)
            ).fetchone()
        if row is None:
            raise NotFoundError("campaign", campaign_id, self.campaign_ids())
        return int(row[0]), [PolicyRef.model_validate(p) for p in json.loads(row[1])]

    def campaign_ids(self) -> list[str]:
        with self._connect() as db:
            return [r[0] for r in db.execute("SELECT campaign_id FROM campaigns ORDER BY 1")]

    def scenario(self, sha256: str) -> ScenarioSpec:
        with self._connect() as db:
            row = db.execute("SELECT spec FROM scenarios WHERE sha256 = ?", (sha256,)).fetchone()
        if row is None:
            raise NotFoundError("stored scenario", sha256)
        return ScenarioSpec.model_validate_json(row[0])
