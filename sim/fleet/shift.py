"""Run a shift of the simulated warehouse fleet: one MuJoCo episode per robot, one MCAP each.

Hazards are assigned to robots round-robin by kind (so a fleet of 4 or more sees every kind;
robot #104 always works beside a worker whose vest flares), with parameters drawn from the
shift seed. Robots run in a process pool; each run is independent and deterministic, so the
pool size never changes a result. Ground truth of every incident goes to ground_truth.json,
never into a log.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from robotops.errors import ConfigError
from robotops.policies.registry import bundled_policy, card_path, load_card, sha256_file
from robotops.sim.episode import INCIDENT_KINDS, EpisodeResult, Rates
from robotops.sim.fleet.models import Incident
from robotops.sim.fleet.state import (
    FleetRecord,
    FleetStore,
    PolicyRecord,
    RobotRecord,
    ShiftRecord,
    write_json_atomic,
)
from robotops.sim.world.specs import (
    AISLE_CENTERS_Y,
    CROSS_AISLE_X,
    HAZARD_KINDS,
    ForkliftActor,
    GlareHazard,
    LatencyHazard,
    ObstacleHazard,
    OilHazard,
    ShadowHazard,
    WorkerActor,
    WorldSpec,
)

FIRST_ROBOT_ID = 101
SHIFT_EPOCH = dt.datetime(2026, 11, 23, 14, 0, 0, tzinfo=dt.UTC)


class ShiftConfig(BaseModel):
    """What to simulate."""

    robots: int = Field(8, ge=1, le=64)
    minutes: float = Field(4.0, gt=0.0, le=24 * 60)
    seed: int = 0
    hazards: list[str] = Field(default_factory=lambda: list(HAZARD_KINDS))
    site: str = "cincinnati"
    workers: int = Field(0, ge=0, description="process pool size; 0 = CPU count")


class RobotRun(BaseModel):
    """Everything one worker process needs to simulate one robot's shift."""

    robot_id: str
    zone: str
    site: str
    shift_id: str
    seed: int
    start_ns: int
    duration_s: float
    world: WorldSpec
    policy_version: str
    policy_path: str
    policy_sha256: str
    log_path: str
    rates: Rates = Rates()


class RobotShiftResult(BaseModel):
    robot_id: str
    log_name: str
    result: EpisodeResult


class ShiftSummary(BaseModel):
    """What a shift produced, as the fleet (not the ground truth) sees it."""

    shift_id: str
    fleet_dir: str
    robots: int
    duration_s: float
    incidents: list[Incident]
    per_robot: dict[str, dict[str, float]]
    bytes_logged: int


def check_hazards(names: list[str]) -> list[str]:
    unknown = [h for h in names if h not in HAZARD_KINDS]
    if unknown:
        raise ConfigError(f"unknown hazard(s) {unknown}; known: {', '.join(HAZARD_KINDS)}")
    return names


def robot_ids(n: int) -> list[str]:
    return [str(FIRST_ROBOT_ID + i) for i in range(n)]


def world_for(
    index: int, hazards: list[str], rng: np.random.Generator, duration_s: float
) -> WorldSpec:
    """The world one robot works in: its aisle, everyday actors, and its assigned hazards."""
    on = set(hazards)
    hz: list = []
    if "glare" in on and index % 4 in (1, 3):
        hz.append(
            GlareHazard(
                x=float(rng.uniform(-7, 7)),
                intensity=float(rng.uniform(1.1, 1.6)),
                facing_deg=float(180 + rng.uniform(-12, 12)),
            )
        )
    if "shadow" in on and index % 4 == 0:
        hz.append(
            ShadowHazard(
                x=float(rng.uniform(-7, 7)),
                width=float(rng.uniform(1.2, 2.5)),
                contrast=float(rng.uniform(0.6, 0.95)),
            )
        )
    if "oil" in on and index % 4 == 2:  # spilled where robots turn and brake: the lane ends
        hz.append(
            OilHazard(
                x=float(rng.choice([-1, 1]) * rng.uniform(15.5, 16.5)),
                length=float(rng.uniform(2.0, 3.0)),
                friction=float(rng.uniform(0.02, 0.05)),
            )
        )
    if "latency" in on and index % 6 == 5:
        hz.append(LatencyHazard(latency_s=float(rng.uniform(0.8, 1.1))))
    if "obstacle" in on and index % 3 == 2 and duration_s > 60:
        hz.append(
            ObstacleHazard(
                x=float(rng.uniform(-6, 8)),
                appear_s=float(rng.uniform(10, duration_s - 45)),
                duration_s=float(rng.uniform(20, 40)),
            )
        )
    end = float(rng.choice([-1, 1])) * CROSS_AISLE_X
    return WorldSpec(
        aisle=index % len(AISLE_CENTERS_Y),
        hazards=hz,
        forklifts=[
            ForkliftActor(
                start=(end, -12.0),
                end=(end, 12.0),
                speed=float(rng.uniform(1.0, 1.5)),
                phase=float(rng.uniform(0, 2)),
            )
        ],
        workers=[
            WorkerActor(
                x=float(rng.uniform(-10, 10)),
                side=float(rng.choice([-1, 1])),
                facing_deg=float(rng.uniform(0, 360)),
            )
        ],
        pallets_x=[float(rng.uniform(-12, 12))],
    )


def ensure_fleet(store: FleetStore, n_robots: int, site: str) -> FleetRecord:
    """Create the fleet (robots on the bundled v1) on first use; grow it if asked for more."""
    with store.update() as record:
        record.site = site
        if "v1" not in record.policies:
            record.policies["v1"] = publish_policy(store.root, bundled_policy("v1"))
        for i, rid in enumerate(robot_ids(n_robots)):
            if rid not in record.robots:
                record.robots[rid] = RobotRecord(
                    robot_id=rid, zone=f"aisle-{i % 3 + 1}", policy_version="v1"
                )
    return store.load()


def publish_policy(root: Path, weights: Path) -> PolicyRecord:
    """Copy a policy's weights and card into the fleet so robots can load it."""
    card = load_card(weights)
    dest = root / "policies" / f"{card.version}.pt"
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(weights, dest)
    shutil.copyfile(card_path(weights), card_path(dest))
    return PolicyRecord(version=card.version, sha256=sha256_file(dest), path=str(dest.resolve()))


def plan_shift(store: FleetStore, config: ShiftConfig) -> tuple[ShiftRecord, list[RobotRun]]:
    check_hazards(config.hazards)
    record = ensure_fleet(store, config.robots, config.site)
    index = len(record.shifts)
    shift_id = f"shift-{index + 1:03d}"
    start = SHIFT_EPOCH + dt.timedelta(days=index)
    start_ns = int(start.timestamp()) * 1_000_000_000
    duration = config.minutes * 60.0
    runs = []
    for i, rid in enumerate(robot_ids(config.robots)):
        robot = record.robots[rid]
        rng = np.random.default_rng([config.seed, index, i])
        policy = record.policies[robot.policy_version]
        runs.append(
            RobotRun(
                robot_id=rid,
                zone=robot.zone,
                site=config.site,
                shift_id=shift_id,
                seed=int(rng.integers(2**31)),
                start_ns=start_ns,
                duration_s=duration,
                world=world_for(i, config.hazards, rng, duration),
                policy_version=policy.version,
                policy_path=policy.path,
                policy_sha256=policy.sha256,
                log_path=str(store.log_dir(rid) / f"{rid}_{shift_id}.mcap"),
            )
        )
    shift = ShiftRecord(
        shift_id=shift_id,
        start_ns=start_ns,
        duration_s=duration,
        seed=config.seed,
        hazards=config.hazards,
    )
    return shift, runs


def run_robot(run: RobotRun) -> RobotShiftResult:
    """Worker-process entry: simulate one robot and write its log."""
    import torch

    from robotops.policies.registry import load_policy
    from robotops.sim.episode import run_episode
    from robotops.sim.recording.writer import RobotLogWriter

    torch.set_num_threads(1)
    perception, card = load_policy(Path(run.policy_path), run.policy_sha256)
    meta = {
        "robot_id": run.robot_id,
        "site": run.site,
        "zone": run.zone,
        "policy_version": run.policy_version,
        "policy_sha256": run.policy_sha256,
        "shift_id": run.shift_id,
        "simulator": "robotops-warehouse/mujoco",
    }
    with RobotLogWriter(Path(run.log_path), meta) as rec:
        result = run_episode(
            run.world,
            perception,
            run.seed,
            run.duration_s,
            run.start_ns,
            run.robot_id,
            run.zone,
            run.rates,
            card.controller,
            rec,
        )
    return RobotShiftResult(robot_id=run.robot_id, log_name=Path(run.log_path).name, result=result)


def _execute(
    runs: list[RobotRun], workers: int, progress: Callable[[str], None] | None
) -> list[RobotShiftResult]:
    n = workers or os.cpu_count() or 1
    if n == 1 or len(runs) == 1:
        results = []
        for r in runs:
            results.append(run_robot(r))
            if progress:
                progress(r.robot_id)
        return results
    with ProcessPoolExecutor(
        max_workers=min(n, len(runs)), mp_context=get_context("spawn")
    ) as pool:
        futures = [pool.submit(run_robot, r) for r in runs]
        results = []
        for r, fut in zip(runs, futures, strict=True):
            results.append(fut.result())
            if progress:
                progress(r.robot_id)
        return results


def _incidents(run: RobotRun, res: RobotShiftResult) -> list[tuple[Incident, dict]]:
    out = []
    for n, truth in enumerate(t for t in res.result.incidents if t.kind in INCIDENT_KINDS):
        inc = Incident(
            incident_id=f"{run.shift_id}-{run.robot_id}-{n + 1:02d}",
            robot_id=run.robot_id,
            kind=truth.kind,
            time_ns=run.start_ns + round(truth.t * 1e9),
            zone=run.zone,
            log_name=res.log_name,
            policy_version=run.policy_version,
            detail=truth.detail,
        )
        out.append((inc, {"cause": truth.cause, "hazards_acting": truth.hazards_acting}))
    return out


def run_shift(
    root: Path, config: ShiftConfig, progress: Callable[[str], None] | None = None
) -> ShiftSummary:
    """Simulate a shift into fleet directory ``root`` and record its incidents."""
    store = FleetStore(root)
    shift, runs = plan_shift(store, config)
    results = _execute(runs, config.workers, progress)
    incidents, truth = [], {}
    per_robot: dict[str, dict[str, float]] = {}
    for run, res in zip(runs, results, strict=True):
        shift.logs[run.robot_id] = res.log_name
        r = res.result
        per_robot[run.robot_id] = {
            "distance_m": round(r.distance_m, 2),
            "missions": r.missions,
            "stalls": r.stalls,
            "stall_time_s": round(r.stall_time_s, 2),
            "estops": r.estops,
            "collisions": r.collisions,
            "nav_errors": r.nav_errors,
            "assists": r.assists,
        }
        for inc, t in _incidents(run, res):
            incidents.append(inc)
            truth[inc.incident_id] = t
    store.add_incidents(incidents)
    _write_truth(root, shift, runs, results, truth)
    with store.update() as record:
        record.shifts.append(shift)
    summary = ShiftSummary(
        shift_id=shift.shift_id,
        fleet_dir=str(root),
        robots=len(runs),
        duration_s=shift.duration_s,
        incidents=incidents,
        per_robot=per_robot,
        bytes_logged=sum(Path(r.log_path).stat().st_size for r in runs),
    )
    (root / "shifts").mkdir(exist_ok=True)
    write_json_atomic(root / "shifts" / f"{shift.shift_id}.json", summary.model_dump(mode="json"))
    return summary


def _write_truth(
    root: Path,
    shift: ShiftRecord,
    runs: list[RobotRun],
    results: list[RobotShiftResult],
    truth: dict[str, dict],
) -> None:
    """Append this shift's ground truth; evals read it, nothing on the robot side does."""
    path = root / "ground_truth.json"
    data = json.loads(path.read_text()) if path.exists() else {"incidents": {}, "shifts": {}}
    data["incidents"].update(truth)
    data["shifts"][shift.shift_id] = {
        r.robot_id: {
            "world": r.world.model_dump(mode="json"),
            "seed": r.seed,
            "policy_version": r.policy_version,
            "metrics": res.result.model_dump(mode="json", exclude={"incidents"}),
        }
        for r, res in zip(runs, results, strict=True)
    }
    write_json_atomic(path, data)
