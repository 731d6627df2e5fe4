"""Benchmark: what campaigns cost on top of the simulation, and whether they keep their promises.

Prints, all measured in this run:
- orchestration overhead: campaign wall time / a plain process-pool loop running the same
  episodes (same physics, rendering, policy calls, same worker count) (goal <= 1.10);
- scenario runs per hour and simulated seconds per wall second on the given workers;
- determinism: N random runs replayed in-process, bit-identical trajectories (goal 100%);
- resume: the campaign CLI SIGKILLed at random points then resumed: finished runs lost and
  repeated (goal 0 and 0).

    python benchmarks/campaign.py [--scenarios 4] [--duration 6] [--workers 2] [--replays 4]
                                  [--kills 1] [--rounds 1] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

from robotops.policies.registry import bundled_policy, sha256_file  # noqa: E402
from robotops.sim.campaign.executor import LocalExecutor  # noqa: E402
from robotops.sim.campaign.models import CampaignRequest, PolicyRef, RunJob  # noqa: E402
from robotops.sim.campaign.runner import replay_run, run_campaign  # noqa: E402
from robotops.sim.campaign.store import CampaignStore  # noqa: E402
from robotops.sim.scenarios.io import write_scenarios  # noqa: E402
from robotops.sim.scenarios.spec import ScenarioSpec  # noqa: E402
from robotops.sim.world.specs import (  # noqa: E402
    GlareHazard,
    ObstacleHazard,
    ShadowHazard,
    WorkerActor,
    WorldSpec,
)


def scenarios(n: int, duration_s: float, seed: int) -> list[ScenarioSpec]:
    """A mix of clear lanes, glare, shadows, pallets and people, placed by the seed."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        x = rng.uniform(-4.0, 0.0)
        world = [
            WorldSpec(aisle=1),
            WorldSpec(aisle=1, hazards=[GlareHazard(x=x, intensity=rng.uniform(1.0, 1.6))]),
            WorldSpec(aisle=1, hazards=[ShadowHazard(x=x, width=1.5, contrast=0.85)]),
            WorldSpec(aisle=1, hazards=[ObstacleHazard(x=x, appear_s=0.0)]),
            WorldSpec(aisle=1, workers=[WorkerActor(x=x, in_lane=True)]),
        ][i % 5]
        out.append(
            ScenarioSpec(
                scenario_id=f"bench-{i:04d}",
                family="bench",
                world=world,
                start_x=-9.0,
                goal_x=1.0,
                duration_s=duration_s,
                seed=seed + i,
            )
        )
    return out


def plain_episode(job: RunJob) -> str:
    """The same work a campaign run does, with no orchestration around it."""
    import torch

    from robotops.policies.registry import load_policy
    from robotops.sim.scenarios.run import run_scenario

    torch.set_num_threads(1)
    perception, card = load_policy(Path(job.policy.weights_path), job.policy.sha256)
    return run_scenario(job.scenario, perception, job.seed, card.controller).trajectory_sha256


def plain_loop(jobs: list[RunJob], workers: int) -> tuple[float, list[str]]:
    t0 = time.perf_counter()
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        hashes = list(pool.map(plain_episode, jobs))
    return time.perf_counter() - t0, hashes


def timed_campaign(req: CampaignRequest, store: CampaignStore) -> float:
    executor = LocalExecutor(req.workers, req.retries)
    t0 = time.perf_counter()
    try:
        run_campaign(req, store, executor=executor)
    finally:
        executor.close()
    return time.perf_counter() - t0


def overhead(
    req: CampaignRequest, root: Path, rounds: int
) -> tuple[CampaignStore, list[float], list[float], list[str]]:
    """Plain loop and campaign timed in alternating order, ``rounds`` times each (a machine
    shared with other work drifts; alternating keeps the drift out of the ratio)."""
    store = CampaignStore(root / "campaigns.db")
    base, camp, hashes = [], [], []
    for r in range(rounds):
        fresh = req.model_copy(update={"campaign_id": f"{req.campaign_id}-{r}"})
        if r % 2:
            camp.append(timed_campaign(fresh, store))
        base_s, hashes = plain_loop(req.jobs(), req.workers)
        base.append(base_s)
        if not r % 2:
            camp.append(timed_campaign(fresh, store))
    return store, base, camp, hashes


def determinism(store: CampaignStore, req: CampaignRequest, n: int, seed: int) -> tuple[int, int]:
    results = [r for r in store.results(req.campaign_id) if r.status == "ok"]
    picked = random.Random(seed).sample(results, min(n, len(results)))
    weights = Path(req.policies[0].weights_path)
    same = sum(
        replay_run(r, store.scenario(r.scenario_sha256), weights).trajectory_sha256
        == r.trajectory_sha256
        for r in picked
    )
    return same, len(picked)


def _rows(db: Path, campaign_id: str) -> dict[str, str]:
    if not db.exists():
        return {}
    with sqlite3.connect(db, timeout=30) as con:
        try:
            rows = con.execute(
                "SELECT run_id, finished_at FROM runs WHERE campaign_id = ?", (campaign_id,)
            ).fetchall()
        except sqlite3.OperationalError:
            return {}
    return dict(rows)


def _cli(scenario_dir: Path, data_dir: Path, workers: int, campaign_id: str) -> subprocess.Popen:
    exe = Path(sys.executable).parent / "robotops"
    cmd = [str(exe), "campaign", "run", "--scenarios", str(scenario_dir), "--policy", "v1"]
    cmd += ["--workers", str(workers), "--campaign", campaign_id, "--json"]
    env = os.environ | {"ROBOTOPS_DATA_DIR": str(data_dir)}
    return subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )


def resume(specs: list[ScenarioSpec], workers: int, kills: int, seed: int, root: Path):
    """Kill the CLI (and its workers) at random points, resume each time; count lost/repeated."""
    rng = random.Random(seed)
    scenario_dir, data_dir = root / "resume-scenarios", root / "resume-data"
    write_scenarios(specs, scenario_dir)
    db, cid = data_dir / "campaigns.db", "bench-resume"
    seen: dict[str, str] = {}
    repeated = killed = 0
    for attempt in range(kills + 1):
        proc = _cli(scenario_dir, data_dir, workers, cid)
        if attempt < kills:
            target = len(seen) + rng.randint(1, max(1, len(specs) - len(seen) - 1))
            while proc.poll() is None and len(_rows(db, cid)) < target:
                time.sleep(0.2)
            time.sleep(rng.uniform(0.0, 2.0))  # somewhere inside the next run
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                killed += 1
        proc.wait()
        rows = _rows(db, cid)
        repeated += sum(1 for run, at in seen.items() if rows.get(run) != at)
        seen.update(rows)
    lost = len(specs) - len(_rows(db, cid))
    return killed, lost, repeated


def _fmt(times: list[float]) -> str:
    return ", ".join(f"{t:.1f}" for t in times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=4)
    parser.add_argument("--duration", type=float, default=6.0, help="simulated s per scenario")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--replays", type=int, default=4)
    parser.add_argument("--kills", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=1, help="plain/campaign timing pairs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    weights = bundled_policy("v1")
    ref = PolicyRef(version="v1", weights_path=str(weights), sha256=sha256_file(weights))
    specs = scenarios(args.scenarios, args.duration, args.seed)
    req = CampaignRequest(
        campaign_id="bench", scenarios=specs, policies=[ref], workers=args.workers
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store, base, camp, base_hashes = overhead(req, root, args.rounds)
        req = req.model_copy(update={"campaign_id": "bench-0"})
        ok = {r.run_id: r for r in store.results("bench-0")}
        agree = sum(
            ok[j.run_id].trajectory_sha256 == h
            for j, h in zip(req.jobs(), base_hashes, strict=True)
        )
        same, replayed = determinism(store, req, args.replays, args.seed)
        killed, lost, repeated = resume(specs, args.workers, args.kills, args.seed, root)
    runs, camp_s = len(req.jobs()), statistics.median(camp)
    print(
        f"runs: {runs} scenarios x 1 policy, {args.duration:g} s simulated each, "
        f"{args.workers} workers"
    )
    print(
        f"plain process-pool loop: {_fmt(base)} s; campaign: {_fmt(camp)} s; "
        f"overhead ratio {sum(camp) / sum(base):.3f} (goal <= 1.10)"
    )
    print(f"campaign trajectories equal to the plain loop's: {agree}/{runs}")
    print(
        f"throughput: {runs / camp_s * 3600:.0f} scenario runs/hour, "
        f"{runs * args.duration / camp_s:.2f} simulated s per wall s"
    )
    print(f"determinism: {same}/{replayed} replays bit-identical (goal 100%)")
    print(
        f"resume: killed {killed} time(s); lost {lost}, repeated {repeated} finished runs "
        "(goal 0, 0)"
    )


if __name__ == "__main__":
    main()
