"""Triage accuracy against the simulator's ground truth, on shifts the procedure never saw.

The simulator records what really caused each incident (ground_truth.json, never in the logs);
triage sees only the robot's log, pulled the way the agent pulls it: a window around the
incident cut out of the robot's log, then diagnosed. Latency is that pull plus the diagnosis.
Real obstacles (pallets, forklifts, people in the lane) count as one cause.

Seeds are split once: development seeds are the ones the procedure was tuned on; held-out seeds
are never looked at while tuning, and the held-out figure is the one that counts. Incidents the
simulator itself could not attribute (truth ``unknown``) are reported apart, not dropped.
Simulated shifts are cached by (seed, robots, minutes), since simulating is the expensive part.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel

from robotops.sim.fleet.shift import ShiftConfig, run_shift
from robotops.sim.fleet.state import FleetStore
from robotops.sim.logs.window import cut_window
from robotops.tools.triage.diagnose import diagnose_incident
from robotops.tools.triage.models import DiagnoseRequest

DEV_SEEDS = (1, 2, 3)
HELD_OUT_SEEDS = (9001, 9002, 9003)
TRUTH_ALIASES = {
    "obstacle": "real_obstacle",
    "forklift": "real_obstacle",
    "person": "real_obstacle",
}
PULL_BEFORE_S, PULL_AFTER_S = 8.0, 4.0  # what the triage agent pulls around an incident
COMPLETE = ".complete"
Split = Literal["dev", "held_out"]


class TriageCase(BaseModel):
    """One incident: what really happened, what triage named, and how long it took."""

    split: Split
    seed: int
    incident_id: str
    kind: str
    truth: str
    hazards_acting: list[str]
    named: str
    confidence: float
    latency_s: float  # wall clock: pull the window, then diagnose it
    cpu_s: float  # the same in CPU time: what latency is on an unloaded machine

    @property
    def attributable(self) -> bool:
        """Whether the simulator named a cause (else the truth itself is unknown)."""
        return self.truth != "unknown"


class SplitScore(BaseModel):
    """Accuracy of one split, overall and per true cause, with its confusion matrix."""

    seeds: list[int]
    incidents: int
    accuracy: float
    attributable: int
    accuracy_attributable: float
    per_cause: dict[str, tuple[int, int]]  # true cause -> (named right, incidents)
    mixed: tuple[int, int]  # (named right, incidents) where more than one hazard was acting
    confusion: dict[str, dict[str, int]]  # true cause -> named cause -> count


class TriageEval(BaseModel):
    """The whole eval: per split scores, answer latency, and every case."""

    robots: int
    minutes: float
    dev: SplitScore | None
    held_out: SplitScore | None
    latency_p50_s: float
    latency_p95_s: float
    cpu_p50_s: float
    cases: list[TriageCase]


def cached_shift(cache: Path, seed: int, robots: int, minutes: float, workers: int = 0) -> Path:
    """The fleet directory of one simulated shift, simulated only if the cache lacks it."""
    root = cache / f"seed{seed}-r{robots}-m{minutes:g}"
    if (root / COMPLETE).exists():
        return root
    shutil.rmtree(root, ignore_errors=True)  # an interrupted run: start it again
    run_shift(root, ShiftConfig(robots=robots, minutes=minutes, seed=seed, workers=workers))
    (root / COMPLETE).write_text("ok\n")
    return root


def evaluate_fleet(root: Path, split: Split, seed: int) -> list[TriageCase]:
    """Pull a window around every incident of a simulated fleet, diagnose it, and compare."""
    store = FleetStore(root)
    truth = json.loads((root / "ground_truth.json").read_text())["incidents"]
    cases = []
    with tempfile.TemporaryDirectory() as pulled:
        for inc in store.incidents():
            t0, c0 = time.perf_counter(), time.process_time()
            window = cut_window(
                store.log_path(inc.robot_id, inc.log_name),
                Path(pulled) / f"{inc.incident_id}.mcap",
                inc.time_ns - int(PULL_BEFORE_S * 1e9),
                inc.time_ns + int(PULL_AFTER_S * 1e9),
                None,
            )
            d = diagnose_incident(
                DiagnoseRequest(log_path=str(window.path), time_ns=inc.time_ns, kind=inc.kind)
            )
            latency, cpu = time.perf_counter() - t0, time.process_time() - c0
            t = truth[inc.incident_id]
            cases.append(
                TriageCase(
                    split=split,
                    seed=seed,
                    incident_id=inc.incident_id,
                    kind=inc.kind,
                    truth=TRUTH_ALIASES.get(t["cause"], t["cause"]),
                    hazards_acting=t["hazards_acting"],
                    named=d.cause,
                    confidence=d.confidence,
                    latency_s=latency,
                    cpu_s=cpu,
                )
            )
    return cases


def score(seeds: list[int], cases: list[TriageCase]) -> SplitScore | None:
    """Accuracy overall, on attributable incidents, per true cause, and the confusion matrix."""
    if not seeds:
        return None
    right = [c.truth == c.named for c in cases]
    known = [c for c in cases if c.attributable]
    mixed = [c for c in cases if len(c.hazards_acting) > 1]
    per_cause: dict[str, tuple[int, int]] = {}
    confusion: dict[str, dict[str, int]] = {}
    for (truth, named), n in sorted(Counter((c.truth, c.named) for c in cases).items()):
        confusion.setdefault(truth, {})[named] = n
        ok, total = per_cause.get(truth, (0, 0))
        per_cause[truth] = (ok + (n if truth == named else 0), total + n)
    return SplitScore(
        seeds=seeds,
        incidents=len(cases),
        accuracy=sum(right) / max(len(cases), 1),
        attributable=len(known),
        accuracy_attributable=sum(c.truth == c.named for c in known) / max(len(known), 1),
        per_cause=per_cause,
        mixed=(sum(c.truth == c.named for c in mixed), len(mixed)),
        confusion=confusion,
    )


def evaluate(
    dev_seeds: list[int],
    held_out_seeds: list[int],
    robots: int = 8,
    minutes: float = 3.0,
    cache_dir: Path | None = None,
    workers: int = 0,
) -> TriageEval:
    """Simulate (or reuse) each seed's shift, triage every incident, and score each split."""
    with tempfile.TemporaryDirectory() as scratch:
        cache = Path(cache_dir) if cache_dir else Path(scratch)
        cases: list[TriageCase] = []
        for split, seeds in (("dev", dev_seeds), ("held_out", held_out_seeds)):
            for seed in seeds:
                root = cached_shift(cache, seed, robots, minutes, workers)
                cases += evaluate_fleet(root, split, seed)
    latencies = np.array([c.latency_s for c in cases]) if cases else np.zeros(1)
    cpu = np.array([c.cpu_s for c in cases]) if cases else np.zeros(1)
    return TriageEval(
        robots=robots,
        minutes=minutes,
        dev=score(dev_seeds, [c for c in cases if c.split == "dev"]),
        held_out=score(held_out_seeds, [c for c in cases if c.split == "held_out"]),
        latency_p50_s=float(np.percentile(latencies, 50)),
        latency_p95_s=float(np.percentile(latencies, 95)),
        cpu_p50_s=float(np.percentile(cpu, 50)),
        cases=cases,
    )
