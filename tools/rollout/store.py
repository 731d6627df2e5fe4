"""Rollouts on disk: one JSON file each, replaced atomically after every step.

Layout under the data dir::

    rollouts/<rollout_id>.json     the plan and everything that happened (a Rollout)
    rollouts/incidents.json        rollbacks filed for triage (RolloutIncident)

A process killed mid-write leaves the previous version of the file, never half of one.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

from robotops.errors import InvalidRequestError, NotFoundError
from robotops.tools.rollout.models import Rollout, RolloutEvent, RolloutIncident

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class RolloutStore:
    """Reads and writes rollouts under ``root`` (``DATA_DIR/rollouts``)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, rollout_id: str) -> Path:
        if not _ID.match(rollout_id):
            raise InvalidRequestError(f"bad rollout id {rollout_id!r}")
        return self.root / f"{rollout_id}.json"

    def exists(self, rollout_id: str) -> bool:
        return self._path(rollout_id).exists()

    def ids(self) -> list[str]:
        return sorted(p.stem for p in self.root.glob("*.json") if p.name != "incidents.json")

    def load(self, rollout_id: str) -> Rollout:
        path = self._path(rollout_id)
        if not path.exists():
            raise NotFoundError("rollout", rollout_id, self.ids())
        return Rollout.model_validate_json(path.read_text())

    def list(self) -> list[Rollout]:
        return [self.load(i) for i in self.ids()]

    def save(self, rollout: Rollout, event: str | None = None, **detail: object) -> Rollout:
        """Persist ``rollout`` (after appending ``event`` to its history, if given)."""
        if event is not None:
            rollout.history.append(
                RolloutEvent(at=datetime.now(UTC), event=event, detail=dict(detail))
            )
        self.root.mkdir(parents=True, exist_ok=True)
        _write_atomic(self._path(rollout.rollout_id), rollout.model_dump_json(indent=2))
        return rollout

    def incidents(self) -> list[RolloutIncident]:
        path = self.root / "incidents.json"
        if not path.exists():
            return []
        return [RolloutIncident.model_validate(i) for i in json.loads(path.read_text())]

    def add_incident(self, incident: RolloutIncident) -> None:
        """File an incident once (same id again replaces it)."""
        merged = {i.incident_id: i for i in self.incidents()}
        merged[incident.incident_id] = incident
        self.root.mkdir(parents=True, exist_ok=True)
        payload = [i.model_dump(mode="json") for i in merged.values()]
        _write_atomic(self.root / "incidents.json", json.dumps(payload, indent=2))
