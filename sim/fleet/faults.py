"""Deterministic fault injection for the SIMULATED fleet API: test-only by design.

A test (or an eval) writes ``DIR/faults.json`` into the fleet directory; the service reads it on
every request. Nothing here exists on a real fleet: it lets tests make the fleet API misbehave
the ways a real one does (timeouts, 5xx, lost replies, robots reporting a version they were not
given) at exactly the moment a test chooses, so each failure path runs deterministically.

Rules are consumed in order: the first rule matching a request's method and path fires, and its
``times`` counts down (a rule with ``times`` 0 is spent and ignored).
"""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from robotops.sim.fleet.state import write_json_atomic

FAULTS_FILE = "faults.json"
FaultKind = Literal["error", "timeout", "lost_reply"]


class FaultRule(BaseModel):
    """One misbehaviour of the fleet API.

    ``error``: answer ``status`` at once, without acting. ``timeout``: wait ``delay_s`` and answer
    504, without acting (the command never arrived). ``lost_reply``: act, then wait ``delay_s``
    before answering (the command took effect but the caller timed out on the answer).
    """

    kind: FaultKind
    path: str = Field(description="request path prefix, e.g. /deploy")
    method: str = Field("*", description="HTTP method, or * for any")
    times: int = Field(1, ge=0)
    status: int = Field(503, ge=500, le=599)
    delay_s: float = Field(2.0, ge=0)

    def matches(self, method: str, path: str) -> bool:
        return self.times > 0 and self.method in ("*", method) and path.startswith(self.path)


class FleetFaults(BaseModel):
    """Everything injected into one simulated fleet."""

    rules: list[FaultRule] = Field(default_factory=list)
    wrong_versions: dict[str, str] = Field(
        default_factory=dict, description="robot id -> the version it (wrongly) reports"
    )


def faults_path(root: Path) -> Path:
    return Path(root) / FAULTS_FILE


def load_faults(root: Path) -> FleetFaults:
    path = faults_path(root)
    if not path.exists():
        return FleetFaults()
    return FleetFaults.model_validate_json(path.read_text())


def save_faults(root: Path, faults: FleetFaults) -> None:
    """Replace the fleet's faults (an empty :class:`FleetFaults` clears them)."""
    Path(root).mkdir(parents=True, exist_ok=True)
    write_json_atomic(faults_path(root), faults.model_dump(mode="json"))


def take_fault(root: Path, method: str, path: str) -> FaultRule | None:
    """The first live rule matching this request, counted down once; None when none fires."""
    if not faults_path(root).exists():
        return None
    with open(Path(root) / ".faults.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        faults = load_faults(root)
        rule = next((r for r in faults.rules if r.matches(method, path)), None)
        if rule is None:
            return None
        rule.times -= 1
        save_faults(root, faults)
        return rule.model_copy(update={"times": rule.times + 1})


def reported_versions(root: Path) -> dict[str, str]:
    """Robot id -> the version it wrongly reports; robots not named report the truth."""
    return load_faults(root).wrong_versions
