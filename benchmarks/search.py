"""Benchmark: search latency at scale, and whether "glare" finds the glare segments.

Scale: synthetic unit 384-d vectors (as the issue allows) with realistic segment metadata,
written through ``VectorIndex.add`` into a Chroma persistent collection in batches, then queried
by vector (k=10), plain and filtered to one robot of 50. The vectors are drawn around 2,000
random "topics" and the queries are noisy copies of indexed vectors, because real description
embeddings cluster; uniformly random 384-d vectors have no near neighbours at all, and on them
any HNSW index finds only a fraction of the exact top 10. The baseline, measured in the same
run over the same vectors, is exact top-k by a numpy dot product; the index's recall@10 against
that exact answer is printed beside the latency.

Quality: descriptions generated from templates, 5% of them describing glare in varied words
(lens flare, washed-out frames, saturated sensor, ...), the rest ordinary driving, shadows,
forklifts, low light; embedded with the packaged MiniLM. recall@10 = share of the top 10 that
are glare segments (there are more than 10), for the index and for exact search.

    python benchmarks/search.py [--max-n 1000000] [--quick] [--queries 200] [--dir DIR]
                                [--ef-construction 100] [--max-neighbors 16] [--ef-search 200]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from robotops.memory.embedding import DIMENSIONS, embed_texts, load_model
from robotops.memory.segment_docs import SegmentDoc
from robotops.memory.vectors import SegmentFilter, VectorIndex, open_client
from robotops.settings import Settings, VectorSettings

T0 = 1_700_000_000_000_000_000
SEGMENT_NS = 2_000_000_000
ROBOTS = 50
SITES = ("cincinnati", "dayton", "columbus", "lexington")
BATCH = 5_000
K = 10
TOPICS = 2_000
CHECKPOINTS = (100_000,)  # measured on the way to --max-n


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def unit_rows(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def noisy(rng: np.random.Generator, centers: np.ndarray, spread: float) -> np.ndarray:
    """Unit vectors around ``centers``; spread 1 puts them at cosine ~0.7 from their center."""
    noise = rng.standard_normal(centers.shape, dtype=np.float32) / np.sqrt(DIMENSIONS)
    return unit_rows(centers + spread * noise)


def synthetic_docs(start: int, n: int) -> list[SegmentDoc]:
    """Segments shaped like ingest's: ids, robots, sites, times, a few events and labels."""
    return [
        SegmentDoc(
            segment_id=f"log{i // 1800:06d}:{T0 + i * SEGMENT_NS}",
            text=f"segment {i}: robot drives at {i % 17 / 10:.1f} m/s",
            log_id=f"log{i // 1800:06d}",
            robot_id=str(100 + i % ROBOTS),
            site=SITES[i % len(SITES)],
            start_ns=T0 + i * SEGMENT_NS,
            end_ns=T0 + (i + 1) * SEGMENT_NS,
            events=["stall"] if i % 97 == 0 else [],
            labels=["glare"] if i % 20 == 0 else [],
        )
        for i in range(start, start + n)
    ]


def latency_ms(run: Callable[[np.ndarray], Any], queries: np.ndarray) -> tuple[float, float]:
    """p50 and p95 of ``run(q)`` over the queries, after a short warm-up."""
    for q in queries[:3]:
        run(q)
    times = []
    for q in queries:
        t0 = time.perf_counter()
        run(q)
        times.append((time.perf_counter() - t0) * 1e3)
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def exact_top_k(matrix: np.ndarray, q: np.ndarray, k: int = K) -> np.ndarray:
    """Indices of the k rows with the largest dot product with q, best first."""
    scores = matrix @ q
    top = np.argpartition(-scores, k)[:k]
    return top[np.argsort(-scores[top])]


def measure(index: VectorIndex, matrix: np.ndarray, queries: np.ndarray) -> dict[str, float]:
    """Index latency (plain, one robot of 50, one site of 4), exact numpy latency, recall@10."""
    robot, site = SegmentFilter(robot_id="107"), SegmentFilter(site=SITES[1])
    p50, p95 = latency_ms(lambda q: index.query_embedding(q, K), queries)
    r50, r95 = latency_ms(lambda q: index.query_embedding(q, K, robot), queries[:50])
    s50, s95 = latency_ms(lambda q: index.query_embedding(q, K, site), queries[:50])
    e50, e95 = latency_ms(lambda q: exact_top_k(matrix, q), queries)
    overlap = []
    for q in queries[:50]:
        found = {(h.doc.start_ns - T0) // SEGMENT_NS for h in index.query_embedding(q, K)}
        overlap.append(len(found & set(exact_top_k(matrix, q).tolist())) / K)
    return {
        "p50": p50,
        "p95": p95,
        "robot_p50": r50,
        "robot_p95": r95,
        "site_p50": s50,
        "site_p95": s95,
        "exact_p50": e50,
        "exact_p95": e95,
        "ratio": e50 / p50,
        "recall": float(np.mean(overlap)),
        "rss_mb": peak_rss_mb(),
    }


def scale(args: argparse.Namespace, root: Path) -> list[dict[str, float]]:
    """Grow one collection through the checkpoint sizes, measuring at each."""
    sizes = [n for n in CHECKPOINTS if n < args.max_n] + [args.max_n]
    hnsw = {
        "ef_construction": args.ef_construction,
        "max_neighbors": args.max_neighbors,
        "ef_search": args.ef_search,
    }
    index = VectorIndex(open_client(_settings(root / "scale")), "scale", hnsw=hnsw)
    # ef_search is a query-time knob: apply it to a collection kept from an earlier run too.
    index.collection.modify(configuration={"hnsw": {"ef_search": args.ef_search}})
    rng = np.random.default_rng(0)
    topics = unit_rows(rng.standard_normal((TOPICS, DIMENSIONS), dtype=np.float32))
    vectors = np.empty((sizes[-1], DIMENSIONS), dtype=np.float32)
    # A collection kept by --dir from an earlier run already holds the same vectors (same seed).
    reused = index.count()
    rows, done, build_s = [], 0, 0.0
    for n in sizes:
        while done < n:
            step = min(BATCH, n - done)
            vectors[done : done + step] = noisy(rng, topics[rng.integers(0, TOPICS, step)], 1.0)
            if done >= reused:
                t0 = time.perf_counter()
                index.add(synthetic_docs(done, step), embeddings=vectors[done : done + step])
                build_s += time.perf_counter() - t0
            done += step
            if args.verbose and done % 50_000 == 0:
                print(f"  indexed {done:,} in {build_s:.0f} s", flush=True)
        queries = noisy(rng, vectors[rng.integers(0, n, args.queries)], 0.5)
        if n < reused:
            print(f"{n:>9,} skipped: the kept collection holds {reused:,} segments", flush=True)
            continue
        built = n - min(n, reused)
        rows.append({"n": n, "build_s": build_s, "rate": built / build_s if built else np.nan})
        rows[-1].update(measure(index, vectors[:n], queries))
        print_scale_row(rows[-1])
    return rows


GLARE = [
    "bright glare on the front camera",
    "lens flare from a reflective safety vest",
    "camera image washed out by a bright reflection",
    "sensor saturated, overexposed frames",
    "sunlight through the dock door blinds the camera",
    "specular highlight from a wet floor saturates the image",
    "blinding light source in view, most pixels clipped white",
    "reflective vest flares the camera, perception loses the aisle",
    "strong backlight, camera exposure blown out",
    "headlights of a forklift dazzle the camera",
]
NORMAL = [
    "robot drives straight along aisle {a} at {v} m/s",
    "hard shadow of a rack falls across aisle {a}",
    "forklift crosses ahead in aisle {a}, robot slows to {v} m/s",
    "low light in the back of aisle {a}, image dark but usable",
    "person walking near aisle {a}, robot yields",
    "robot docks at charger {a}, battery at {p} percent",
    "pallet left in aisle {a}, robot plans around it",
    "robot turns at the end of aisle {a}, odometry steady",
    "camera image normal, well lit aisle {a}",
    "motion blur while turning quickly in aisle {a}",
    "wet patch on the floor of aisle {a}, wheels slip slightly",
    "dust in the air near loading bay {a}",
]
CONTEXT = ["", ", robot stalls", ", speed {v} m/s", ", near a forklift", ", stop event raised"]


def describe_shift(n: int, seed: int = 0) -> list[tuple[str, bool]]:
    """n segment descriptions; 5% are glare, in the words of GLARE, the rest ordinary."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        glare = i % 20 == 7
        base = rnd.choice(GLARE if glare else NORMAL) + rnd.choice(CONTEXT)
        fill = {"a": rnd.randint(1, 40), "v": f"{rnd.uniform(0, 1.5):.1f}", "p": rnd.randint(5, 99)}
        out.append((base.format(**fill), glare))
    return out


def quality(args: argparse.Namespace, root: Path) -> list[dict[str, Any]]:
    """recall@10 of glare queries over real MiniLM embeddings of generated descriptions."""
    shift = describe_shift(300 if args.quick else 2_000)
    load_model()
    t0 = time.perf_counter()
    vectors = embed_texts([text for text, _ in shift])
    embed_s = time.perf_counter() - t0
    docs = [
        SegmentDoc(segment_id=f"shift:{i}", text=text, log_id="shift", start_ns=i, end_ns=i + 1)
        for i, (text, _) in enumerate(shift)
    ]
    index = VectorIndex(open_client(_settings(root / "quality")), "quality")
    index.add(docs, embeddings=vectors)
    relevant = {f"shift:{i}" for i, (_, glare) in enumerate(shift) if glare}
    rows = []
    for text in ("glare", "lens flare", "camera blinded by bright light"):
        found = {h.doc.segment_id for h in index.query(text, K)}
        exact = {f"shift:{i}" for i in exact_top_k(vectors, embed_texts([text])[0]).tolist()}
        rows.append(
            dict(
                query=text,
                recall=len(found & relevant) / K,
                exact=len(exact & relevant) / K,
                n=len(shift),
                glare=len(relevant),
                embed_per_s=len(shift) / embed_s,
            )
        )
    return rows


def _settings(path: Path) -> Settings:
    return Settings(data_dir=path, vectors=VectorSettings(path=path))


HEADER = (
    f"{'segments':>9} {'build s':>8} {'docs/s':>6} {'index ms':>11} {'robot 1/50':>11} "
    f"{'site 1/4':>11} {'numpy exact':>11} {'exact/':>7} {'recall':>6} {'peak RSS':>8}\n"
    f"{'':>9} {'':>8} {'':>6} {'p50/p95':>11} {'p50/p95':>11} {'p50/p95':>11} {'p50/p95':>11} "
    f"{'index':>7} {'@10':>6} {'MB':>8}"
)


def print_scale_row(r: dict[str, float]) -> None:
    def pair(name: str) -> str:
        return f"{r[name + 'p50']:.2f}/{r[name + 'p95']:.2f}"

    print(
        f"{r['n']:>9,} {r['build_s']:8.0f} {r['rate']:6.0f} {pair(''):>11} {pair('robot_'):>11} "
        f"{pair('site_'):>11} {pair('exact_'):>11} {r['ratio']:6.1f}x {r['recall']:6.2f} "
        f"{r['rss_mb']:8.0f}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-n", type=int, default=1_000_000, help="largest index size")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--dir", type=Path, help="keep the collections here (default: temp)")
    parser.add_argument("--ef-construction", type=int, default=100)
    parser.add_argument("--max-neighbors", type=int, default=16)
    parser.add_argument("--ef-search", type=int, default=200)
    parser.add_argument("--verbose", action="store_true", help="print build progress")
    args = parser.parse_args(argv)
    if args.quick:
        args.queries, args.max_n = min(args.queries, 20), min(args.max_n, 2_000)
    root = args.dir or Path(tempfile.mkdtemp(prefix="robotops-bench-search-"))
    cpus = len(os.sched_getaffinity(0))
    try:
        print(
            f"search latency: clustered unit {DIMENSIONS}-d vectors, k={K}, "
            f"{args.queries} queries, "
            f"{cpus} CPUs, hnsw ef_construction={args.ef_construction} "
            f"max_neighbors={args.max_neighbors} ef_search={args.ef_search}"
        )
        print(HEADER)
        scale_rows = scale(args, root)
        quality_rows = quality(args, root)
        print(
            f"\nglare recall@10 on {quality_rows[0]['n']} MiniLM-embedded descriptions "
            f"({quality_rows[0]['glare']} glare; embedding {quality_rows[0]['embed_per_s']:.0f}/s)"
        )
        print(f"{'query':34s} {'index':>6s} {'exact':>6s}")
        for r in quality_rows:
            print(f"{r['query']:34s} {r['recall']:6.2f} {r['exact']:6.2f}")
        print(f"peak RSS {peak_rss_mb():.0f} MB")
        return {"scale": scale_rows, "quality": quality_rows, "cpus": cpus}
    finally:
        if args.dir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
