"""Benchmark: ingest (+ index) throughput against a plain ``mcap`` scan of a camera-heavy log.

Writes a camera-heavy MCAP with the fleet's own recorder into a temp dir: 640x480 JPEG frames at
14 Hz (a few dozen distinct frames of a noisy corridor, some with glare, so frame sizes are those
of a real camera), plus telemetry (odometry 50 Hz, commands 20 Hz, laser scans 10 Hz, pose 10 Hz,
perception 14 Hz, diagnostics 1 Hz, an event a minute). Then times, each in a fresh process so
that peak RSS is that phase's own and round after round back to back:

- a plain scan: every message through ``make_reader(f).iter_messages()``, as a user would;
- ``ingest_log`` without a vector index (blob store + catalog, on the log's file system);
- ``ingest_log`` with the Chroma vector index (MiniLM embeddings of every segment);
- with ``--link``, the same storing the log by hard link (``IngestRequest(link=True)``), on a
  copy of the file since linking makes it read-only.

The page cache holds the file for every phase (it is read through first); each ingest writes a
new data dir, removed and synced after it. The embedding model is loaded before the clock starts
(a one-off per process, printed apart): the figure is the throughput of a process that ingests
logs, not the start-up of one. Ratios are scan time / ingest time of the same round; on a shared
machine they move with its load, so several rounds run back to back and the range is printed.
The file is deleted after.

    python benchmarks/ingest.py [--size-mb 500] [--rounds 3] [--link] [--jpeg-quality 90]
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

T0 = 1_795_442_400_000_000_000  # a multiple of 2 s
CAMERA_HZ = 14
WIDTH, HEIGHT = 640, 480
DISTINCT_FRAMES = 31  # prime: no two segments (28 frames each) start on the same frame cycle
TELEMETRY_BYTES_PER_S = 40_000  # about what the telemetry below adds to the file per second
PHASES = (
    "plain scan (mcap iter_messages)",
    "ingest, no index",
    "ingest + index",
    "ingest + index, --link",
)


def frames(count: int, quality: int = 90) -> list[tuple[bytes, bool]]:
    """``count`` distinct JPEG frames (bytes, glare?): a corridor with shelves, sensor noise."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    out = []
    for k in range(count):
        light = 0.6 + 0.8 * rng.random()
        base = (50 + 120 * (yy / HEIGHT)) * light  # floor brighter towards the robot
        shelves = ((xx // (40 + 8 * (k % 5))) % 2) * 25 * (yy < HEIGHT * 0.6)
        texture = 12 * np.sin(xx / (3 + k % 4)) * np.cos(yy / 5)
        grey = base + shelves + texture
        rgb = np.stack([grey * 1.02, grey, grey * 0.95], axis=2)
        rgb += rng.normal(0, 7, rgb.shape)  # sensor noise: what makes real JPEGs big
        glare = k % 6 == 5
        if glare:  # a lamp or a reflective vest saturating part of the frame
            cx, cy = rng.uniform(150, 490), rng.uniform(100, 300)
            rgb[(xx - cx) ** 2 + (yy - cy) ** 2 < 90**2] = 255
        data = io.BytesIO()
        Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(
            data, format="JPEG", quality=quality
        )
        out.append((data.getvalue(), glare))
    return out


def generate(path: str, size_mb: int, quality: int = 90) -> dict:
    """Write the log; returns its duration, frame size and how long writing took."""
    import math

    from robotops.sim.recording.writer import RobotLogWriter

    began = time.perf_counter()
    shots = frames(DISTINCT_FRAMES, quality)
    normal = [f for f, glare in shots if not glare]
    glaring = [f for f, glare in shots if glare]
    frame_bytes = sum(len(f) for f, _ in shots) / len(shots)
    seconds = int(size_mb * 2**20 / (frame_bytes * CAMERA_HZ + TELEMETRY_BYTES_PER_S))
    meta = {"robot_id": "bench-7", "site": "bench", "zone": "aisle-4"}
    ranges = [2.0 + 0.5 * math.sin(i / 20) for i in range(360)]
    with RobotLogWriter(Path(path), meta, chunk_size=1 << 20) as log:
        for ms in range(0, seconds * 1000, 10):  # a 100 Hz clock; each stream ticks on it
            t = T0 + ms * 1_000_000
            s = ms / 1000
            stopped = int(s) % 45 >= 38  # drives 38 s, then waits 7 s (something in the way)
            v = 0.0 if stopped else 1.0 + 0.3 * math.sin(s / 7)
            if ms % 20 == 0:
                log.odom(t, s * 0.8, 0.0, 0.1 * math.sin(s / 10), v, 0.02)
            if ms % 50 == 0:
                log.cmd_vel(t, 0.6 if stopped else v, 0.0)
            if ms % 100 == 0:
                log.scan(t, ranges, -2.35, 2.35, 12.0)
                log.pose(t, s * 0.8, 0.0, 0.1 * math.sin(s / 10))
            if ms % 70 == 0:  # 14 Hz, from the same clock
                frame = ms // 70
                pool = glaring if stopped and frame % 3 else normal
                log.image(t, pool[frame % len(pool)])
                p = 0.9 if stopped else 0.05 + 0.4 * abs(math.sin(frame * 0.37))
                log.perception(t, p, stopped, "v3")
            if ms % 1000 == 0:
                level = 2 if stopped else 0
                log.diagnostics(t, "drive", level, "current limit" if level else "ok", {})
            if ms % 60_000 == 39_000:
                log.event(t, "stall", "warn", "bench-7", "aisle-4", "stopped for an obstacle")
    return {"seconds": seconds, "frame_kb": frame_bytes / 1024, "wall": time.perf_counter() - began}


def plain_scan(path: str) -> dict:
    """Every message with the mcap reader: the floor any ingest is compared with."""
    from mcap.reader import make_reader

    _warm(path)
    began = time.perf_counter()
    count = 0
    with open(path, "rb") as stream:
        for _ in make_reader(stream).iter_messages():
            count += 1
    return {"wall": time.perf_counter() - began, "messages": count, "rss": _rss_mb()}


def ingest(path: str, root: str, with_index: bool, link: bool = False) -> dict:
    """``ingest_log`` into a new blob store, catalog and (optionally) vector index."""
    from robotops.memory.blobs import LocalBlobStore
    from robotops.memory.catalog import Catalog
    from robotops.settings import IngestSettings, Settings
    from robotops.tools.logs.ingest import IngestDeps, IngestRequest, ingest_log

    data = Path(root)
    index, load = None, 0.0
    if with_index:
        from robotops.memory.embedding import embed_texts
        from robotops.memory.vectors import VectorIndex, open_client

        began = time.perf_counter()
        embed_texts(["warm up"])  # loads the model: once per process
        load = time.perf_counter() - began
        index = VectorIndex(open_client(Settings(data_dir=data)), "bench")
    deps = IngestDeps(
        blobs=LocalBlobStore(data / "blobs"),
        catalog=Catalog(f"sqlite:///{data / 'catalog.db'}"),
        settings=IngestSettings(),
        index=index,
        work_dir=data / "work",
    )
    _warm(path)
    began = time.perf_counter()
    request = IngestRequest(path=Path(path), link=True) if link else IngestRequest(path=Path(path))
    result = ingest_log(request, deps)
    wall = time.perf_counter() - began
    assert result.status == "ingested", result.status
    texts = {s.description for s in deps.catalog.segments(result.log_id)}
    return {
        "distinct_texts": len(texts),
        "wall": wall,
        "load": load,
        "segments": result.segment_count,
        "thumbnails": result.thumbnail_count,
        "messages": result.message_count,
        "indexed": index.count() if index is not None else 0,
        "rss": _rss_mb(),
    }


def _ingest_fresh(path: str, root: Path, with_index: bool, link: bool = False) -> dict:
    """One ingest in a fresh process; its data dir is removed (and synced) after."""
    result = _fresh(ingest, path, str(root), with_index, link)
    shutil.rmtree(root)
    os.sync()  # the next phase does not pay for this one's deletes
    return result


def _warm(path: str) -> None:
    """Read the file through so every phase starts with it in the page cache."""
    with open(path, "rb") as stream:
        while stream.read(8 << 20):
            pass


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _fresh(fn, *args) -> dict:
    """Run ``fn`` in a new process so its peak RSS is its own."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(fn, args)


def _span(values: list[float], fmt: str = ".2f") -> str:
    """Median and range of a figure over the rounds."""
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:{fmt}}"
    return f"{med:{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3, help="back-to-back rounds of every phase")
    parser.add_argument("--dir", type=Path, default=None, help="where to write the temp log")
    parser.add_argument(
        "--link", action="store_true", help="also ingest + index storing the log by hard link"
    )
    parser.add_argument(
        "--jpeg-quality", type=int, default=90, help="90: ~78 KiB frames; 94: ~110 KiB"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = str(Path(tmp) / "camera_heavy.mcap")
        gen = _fresh(generate, path, args.size_mb, args.jpeg_quality)
        size = os.path.getsize(path)
        rounds = []
        for k in range(args.rounds):
            scan = _fresh(plain_scan, path)
            plain = _ingest_fresh(path, Path(tmp) / f"plain{k}", False)
            indexed = _ingest_fresh(path, Path(tmp) / f"indexed{k}", True)
            phases = [scan, plain, indexed]
            if args.link:  # on a copy of the log: linking makes the file read-only
                copy = Path(tmp) / f"link{k}.mcap"
                shutil.copyfile(path, copy)
                phases.append(_ingest_fresh(str(copy), Path(tmp) / f"linked{k}", True, True))
                copy.unlink()
            rounds.append(phases)
            print(
                f"round {k + 1}: "
                + ", ".join(
                    f"{name} {r['wall']:.3f} s" for name, r in zip(PHASES, phases, strict=False)
                ),
                flush=True,
            )

    scans, plains, indexes, *linked = (list(phase) for phase in zip(*rounds, strict=True))
    last = indexes[-1]
    print(
        f"ingest: {size / 2**20:.0f} MiB camera-heavy MCAP ({WIDTH}x{HEIGHT} JPEG "
        f"{gen['frame_kb']:.0f} KiB avg at {CAMERA_HZ} Hz + telemetry), {gen['seconds']} s of "
        f"log, {scans[0]['messages']} messages, {last['segments']} segments; written in "
        f"{gen['wall']:.1f} s; {len(rounds)} rounds, median (min-max)"
    )
    print(f"{'phase':34s} {'seconds':>22s} {'MiB/s':>8s} {'scan/phase':>22s} {'RSS MiB':>8s}")
    for name, runs in zip(PHASES, [scans, plains, indexes, *linked], strict=False):
        walls = [r["wall"] for r in runs]
        ratios = [s["wall"] / r["wall"] for s, r in zip(scans, runs, strict=True)]
        print(
            f"{name:34s} {_span(walls, '.3f'):>22s} "
            f"{size / 2**20 / statistics.median(walls):8.0f} {_span(ratios):>22s} "
            f"{max(r['rss'] for r in runs):8.0f}"
        )
    print(
        f"embedding model load (once per process, not in the figures): "
        f"{_span([r['load'] for r in indexes])} s; segments indexed {last['indexed']} "
        f"({last['distinct_texts']} distinct descriptions), thumbnails {last['thumbnails']}"
    )
    ratio = statistics.median(s["wall"] / r["wall"] for s, r in zip(scans, indexes, strict=True))
    verdict = "meets" if ratio >= 0.25 else "misses"
    print(f"ingest+index / plain scan throughput: {ratio:.2f} ({verdict} the goal >= 0.25)")


if __name__ == "__main__":
    main()
