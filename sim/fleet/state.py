"""The simulated fleet's own state on disk: robots, policies they can run, deployments, incidents.

Layout of a fleet directory::

    DIR/fleet.json                  robots, known policy versions, deployments
    DIR/incidents.json              incidents the robots flagged (no causes)
    DIR/robots/<id>/logs/*.mcap     logs still "on the robot"
    DIR/ground_truth.json           what really caused each incident: for evals only

Writes are atomic (write to a temp file, then rename) and serialised with a file lock, so a
killed process never leaves a half-written state and concurrent API calls do not lose updates.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, Field

from robotops.errors import NotFoundError
from robotops.sim.fleet.models import Deployment, Incident, PolicyInfo


class RobotRecord(BaseModel):
    """What the fleet keeps about one robot."""

    robot_id: str
    zone: str
    policy_version: str
    online: bool = True
    status: str = "idle"
    route_seed: int = 0


class PolicyRecord(BaseModel):
    """A deployable policy artifact."""

    version: str
    sha256: str
    path: str


class ShiftRecord(BaseModel):
    """A shift the fleet has run: which logs it left on which robots."""

    shift_id: str
    start_ns: int
    duration_s: float
    seed: int
    hazards: list[str]
    logs: dict[str, str] = Field(default_factory=dict, description="robot id -> log name")


class FleetRecord(BaseModel):
    """Contents of fleet.json."""

    site: str = "cincinnati"
    link_speed_bps: int = 2_000_000
    robots: dict[str, RobotRecord] = Field(default_factory=dict)
    policies: dict[str, PolicyRecord] = Field(default_factory=dict)
    deployments: dict[str, Deployment] = Field(default_factory=dict)
    shifts: list[ShiftRecord] = Field(default_factory=list)
    advances: dict[str, str] = Field(
        default_factory=dict, description="simulator only: advance id -> the shift it ran"
    )


def write_json_atomic(path: Path, payload: object) -> None:
    """Write JSON so that readers see either the old or the new file, never half of one."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True))
    os.replace(tmp, path)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write bytes so that readers see either the old or the new file, never half of one."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class FleetStore:
    """Reads and updates a fleet directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def fleet_file(self) -> Path:
        return self.root / "fleet.json"

    def exists(self) -> bool:
        return self.fleet_file.exists()

    def load(self) -> FleetRecord:
        if not self.exists():
            return FleetRecord()
        return FleetRecord.model_validate_json(self.fleet_file.read_text())

    def save(self, record: FleetRecord) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.fleet_file, record.model_dump(mode="json"))

    @contextlib.contextmanager
    def update(self) -> Iterator[FleetRecord]:
        """Lock, load, let the caller change the record, save. Nothing is saved on error."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            record = self.load()
            yield record
            self.save(record)

    def robot(self, robot_id: str) -> RobotRecord:
        record = self.load()
        if robot_id not in record.robots:
            raise NotFoundError("robot", robot_id, sorted(record.robots))
        return record.robots[robot_id]

    def policy(self, version: str) -> PolicyRecord:
        record = self.load()
        if version not in record.policies:
            raise NotFoundError("policy version", version, sorted(record.policies))
        return record.policies[version]

    def policy_infos(self) -> list[PolicyInfo]:
        return [
            PolicyInfo(version=p.version, sha256=p.sha256) for p in self.load().policies.values()
        ]

    def log_dir(self, robot_id: str) -> Path:
        return self.root / "robots" / robot_id / "logs"

    def log_path(self, robot_id: str, log_name: str) -> Path:
        path = self.log_dir(robot_id) / log_name
        if "/" in log_name or not path.is_file():
            known = sorted(p.name for p in self.log_dir(robot_id).glob("*.mcap"))
            raise NotFoundError(f"log on robot {robot_id}", log_name, known)
        return path

    def incidents(self) -> list[Incident]:
        path = self.root / "incidents.json"
        if not path.exists():
            return []
        return [Incident.model_validate(i) for i in json.loads(path.read_text())]

    def add_incidents(self, incidents: list[Incident]) -> None:
        with open(self.root / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            merged = {i.incident_id: i for i in self.incidents()}
            merged.update({i.incident_id: i for i in incidents})
            ordered = sorted(merged.values(), key=lambda i: (i.time_ns, i.incident_id))
            write_json_atomic(self.root / "incidents.json", [i.model_dump() for i in ordered])
