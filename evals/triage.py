"""Triage accuracy against the simulator's ground truth, on shifts the procedure never saw.

The simulator records what really caused each incident (ground_truth.json, never in the logs);
triage sees only the robot's log. Real obstacles (pallets, forklifts) count as one cause.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from pydantic import BaseModel

from robotops.sim.fleet.shift import ShiftConfig, run_shift
from robotops.sim.fleet.state import FleetStore
from robotops.tools.triage.diagnose import diagnose_incident
from robotops.tools.triage.models import DiagnoseRequest

TRUTH_ALIASES = {"obstacle": "real_obstacle", "forklift": "real_obstacle"}


class TriageCase(BaseModel):
    incident_id: str
    kind: str
    truth: str
    named: str
    confidence: float
    latency_s: float


class TriageEval(BaseModel):
    seeds: list[int]
    cases: list[TriageCase]
    accuracy: float
    accuracy_known: float  # leaving out incidents whose true cause the simulator could not name
    latency_p50_s: float
    confusion: dict[str, int]


def evaluate_fleet(root: Path) -> list[TriageCase]:
    """Diagnose every incident of a simulated fleet directory against its ground truth."""
    store = FleetStore(root)
    truth = json.loads((root / "ground_truth.json").read_text())["incidents"]
    cases = []
    for inc in store.incidents():
        t0 = time.perf_counter()
        d = diagnose_incident(
            DiagnoseRequest(
                log_path=str(store.log_path(inc.robot_id, inc.log_name)),
                time_ns=inc.time_ns,
                kind=inc.kind,
            )
        )
        cause = truth[inc.incident_id]["cause"]
        cases.append(
            TriageCase(
                incident_id=inc.incident_id,
                kind=inc.kind,
                truth=TRUTH_ALIASES.get(cause, cause),
                named=d.cause,
                confidence=d.confidence,
                latency_s=time.perf_counter() - t0,
            )
        )
    return cases


def evaluate(seeds: list[int], robots: int = 6, minutes: float = 2.0) -> TriageEval:
    cases: list[TriageCase] = []
    for seed in seeds:
        with tempfile.TemporaryDirectory() as tmp:
            run_shift(Path(tmp), ShiftConfig(robots=robots, minutes=minutes, seed=seed))
            cases += evaluate_fleet(Path(tmp))
    known = [c for c in cases if c.truth != "unknown"]
    return TriageEval(
        seeds=seeds,
        cases=cases,
        accuracy=sum(c.truth == c.named for c in cases) / max(len(cases), 1),
        accuracy_known=sum(c.truth == c.named for c in known) / max(len(known), 1),
        latency_p50_s=statistics.median([c.latency_s for c in cases]) if cases else 0.0,
        confusion={
            f"{t} -> {n}": k
            for (t, n), k in sorted(Counter((c.truth, c.named) for c in cases).items())
        },
    )
