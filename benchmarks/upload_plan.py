"""Benchmark: bandwidth-aware upload plans on a simulated shift, against Maya's two options.

For every robot log of a shift (simulated here, or an existing fleet dir), the robot-side
planner is asked for every incident window plus a context budget the user sets; every item is
then cut as the robot would cut it (``cut_window`` / ``reduce_window``, the functions behind the
fleet API) and the real bytes are counted. Printed against the same logs:

* send everything: every byte of every log;
* random 10% (Maya's blind drop): 10% of each log's time kept, in random pieces; an incident
  survives when its whole window (-pre .. +post seconds) is inside what was kept (mean of many
  draws), and "instant kept" counts incidents whose event moment itself was kept.

Goal: every incident window kept at full fidelity, and bytes sent <= 1.25 x (bytes of those
windows + the context budget).

    python benchmarks/upload_plan.py [--fleet-dir DIR | --robots 4 --minutes 3]
        [--context-frac 0.05] [--piece-s 5] [--draws 500]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import tempfile
import time
from pathlib import Path

from robotops.sim.fleet.models import UploadPlanRequest
from robotops.sim.logs.reduce import reduce_window
from robotops.sim.logs.upload_plan import plan_upload
from robotops.sim.logs.window import cut_window

S = 1_000_000_000


def simulate(root: Path, robots: int, minutes: float, seed: int) -> None:
    os.environ.setdefault("MUJOCO_GL", "egl")
    from robotops.sim.fleet.shift import ShiftConfig, run_shift

    began = time.perf_counter()
    summary = run_shift(root, ShiftConfig(robots=robots, minutes=minutes, seed=seed))
    print(
        f"simulated {robots} robots x {minutes:g} min in {time.perf_counter() - began:.0f} s: "
        f"{len(summary.incidents)} incidents, {summary.bytes_logged / 1e6:.1f} MB logged"
    )


def measure(log: Path, budget: int, context_budget: int | None, link: int, out: Path) -> dict:
    """Plan one log, cut what the plan sends, and count real bytes."""
    request = UploadPlanRequest(budget_bytes=budget, context_budget_bytes=context_budget)
    began = time.perf_counter()
    plan = plan_upload([log], request, link)
    planning_s = time.perf_counter() - began
    windows = incident_sent = context_sent = estimated = 0
    for n, item in enumerate(plan.to_send):
        dst = out / f"{log.stem}-{n}.mcap"
        if item.fidelity == "full":
            size = cut_window(log, dst, item.start_ns, item.end_ns, None).size_bytes
        else:
            size = reduce_window(log, dst, item.start_ns, item.end_ns, None).size_bytes
        dst.unlink()
        estimated += item.estimated_bytes
        if item.role == "incident":
            incident_sent += size
            windows += size if item.fidelity == "full" else 0
        else:
            context_sent += size
    events = [e.time_ns for i in plan.to_send if i.role == "incident" for e in i.events]
    return {
        "log_bytes": log.stat().st_size,
        "incidents": plan.incidents_total,
        "kept_full": plan.incidents_full,
        "thinned": plan.incidents_reduced,
        "windows": windows,
        "context_budget": context_budget or 0,
        "sent": incident_sent + context_sent,
        "context_sent": context_sent,
        "estimated": estimated,
        "planning_s": planning_s,
        "events": events,
        "span": (
            min((i.start_ns for i in plan.items), default=0),
            max((i.end_ns for i in plan.items), default=0),
        ),
    }


def blind_drop(
    m: dict, pre_s: float, post_s: float, piece_s: float, draws: int, rng: random.Random
) -> tuple[float, float]:
    """Mean incidents whose whole window / whose instant survive a random 10% of the time."""
    start, end = m["span"]
    pieces = max(int((end - start) / (piece_s * S)), 1)
    keep = max(round(pieces * 0.10), 1)
    windows = instants = 0
    for _ in range(draws):
        kept = set(rng.sample(range(pieces), keep))
        for t in m["events"]:
            first = max(int((t - pre_s * S - start) // (piece_s * S)), 0)
            last = min(int((t + post_s * S - start) // (piece_s * S)), pieces - 1)
            windows += first <= last and all(p in kept for p in range(first, last + 1))
            instants += int((t - start) // (piece_s * S)) in kept
    return windows / draws, instants / draws


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fleet-dir", type=Path, default=None)
    parser.add_argument("--robots", type=int, default=4)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--context-frac",
        type=float,
        default=0.05,
        help="context budget as a fraction of each log's size",
    )
    parser.add_argument("--link-bps", type=int, default=2_000_000)
    parser.add_argument("--piece-s", type=float, default=5.0, help="random-drop piece length")
    parser.add_argument("--draws", type=int, default=500)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = args.fleet_dir
        if root is None:
            root = Path(tmp) / "fleet"
            simulate(root, args.robots, args.minutes, args.seed)
        logs = sorted(root.glob("robots/*/logs/*.mcap"))
        if not logs:
            raise SystemExit(f"no robot logs under {root}/robots/*/logs")
        runs, tight = {}, {}
        for log in logs:
            size = log.stat().st_size
            context = int(args.context_frac * size)
            runs[log.name] = measure(log, size, context, args.link_bps, Path(tmp))
            tight[log.name] = measure(log, size // 10, None, args.link_bps, Path(tmp))

    rng = random.Random(args.seed)
    total = {
        k: sum(r[k] for r in runs.values())
        for k in (
            "log_bytes",
            "incidents",
            "kept_full",
            "windows",
            "context_budget",
            "sent",
            "context_sent",
            "estimated",
            "planning_s",
        )
    }
    drops = [blind_drop(r, 8.0, 4.0, args.piece_s, args.draws, rng) for r in runs.values()]
    survive, instants = sum(d[0] for d in drops), sum(d[1] for d in drops)
    goal = total["windows"] + total["context_budget"]
    ratio = total["sent"] / goal if goal else 0.0
    n, log_mb = total["incidents"], total["log_bytes"] / 1e6

    print(
        f"upload_plan on {len(runs)} logs ({log_mb:.2f} MB, {n} incidents), context budget "
        f"{args.context_frac:.0%} of each log, planning {total['planning_s'] * 1e3:.0f} ms "
        f"total, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )
    print(f"{'strategy':28s} {'MB sent':>8s} {'% of log':>9s} {'incident windows intact':>24s}")
    print(f"{'send everything':28s} {log_mb:8.2f} {100:8.0f}% {f'{n}/{n}':>24s}")
    print(
        f"{f'random 10% ({args.piece_s:g} s pieces)':28s} {log_mb * 0.1:8.2f} {10:8.0f}% "
        f"{f'{survive:.1f}/{n} (instant {instants:.1f})':>24s}"
    )
    kept = f"{total['kept_full']}/{n} full fidelity"
    print(
        f"{'robotops plan':28s} {total['sent'] / 1e6:8.2f} "
        f"{100 * total['sent'] / total['log_bytes']:8.0f}% {kept:>24s}"
    )
    sent10 = sum(r["sent"] for r in tight.values())
    kept10 = sum(r["kept_full"] for r in tight.values())
    thin10 = sum(r["thinned"] for r in tight.values())
    same = f"{kept10}/{n} full + {thin10} thin"
    print(
        f"{'robotops plan, 10% budget':28s} {sent10 / 1e6:8.2f} "
        f"{100 * sent10 / total['log_bytes']:8.0f}% {same:>24s}"
    )
    print(
        f"  incident windows {total['windows'] / 1e6:.2f} MB + context budget "
        f"{total['context_budget'] / 1e6:.2f} MB = {goal / 1e6:.2f} MB; sent "
        f"{total['sent'] / 1e6:.2f} MB (context {total['context_sent'] / 1e6:.2f} MB): "
        f"ratio {ratio:.2f} (goal <= 1.25); plan estimate / actual "
        f"{total['estimated'] / max(total['sent'], 1):.2f}"
    )
    for name, r in runs.items():
        print(
            f"  {name:28s} {r['kept_full']}/{r['incidents']} kept, "
            f"{r['sent'] / 1e6:.3f} of {r['log_bytes'] / 1e6:.3f} MB, windows "
            f"{r['windows'] / 1e6:.3f} MB, context {r['context_sent'] / 1e6:.3f} MB"
        )


if __name__ == "__main__":
    main()
