"""Benchmark: a 2 s window out of a large camera-heavy MCAP, through the index vs a full scan.

Writes a ~1 GB log with the fleet's own recorder (random-byte "JPEG" frames that zstd cannot
shrink, telemetry at 20 Hz, 1 MiB chunks) into a temp dir, then times, each in a fresh process
so that peak RSS is that phase's own: reading a 2 s window with ``iter_messages(start, end)``
(chunk indexes: only overlapping chunks are read), cutting it to a file with ``cut_window``, and
a full scan of every message with the same reader. Nothing is ingested first: the window is
read straight from the raw MCAP. Page cache is dropped for the file before each cold read
(``posix_fadvise DONTNEED``); warm figures are printed beside them. The file is deleted after.

    python benchmarks/log_window.py [--size-mb 1024] [--window-s 2] [--windows 5]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

T0 = 1_795_442_400_000_000_000


def generate(path: str, size_mb: int, frame_kb: int, camera_hz: float) -> dict:
    """Write the log; returns its duration, chunk count and the time it took."""
    import numpy as np

    from robotops.sim.recording.writer import RobotLogWriter

    rng = np.random.default_rng(0)
    frame_bytes = frame_kb * 1024
    seconds = size_mb * 2**20 / (frame_bytes * camera_hz)
    control_hz = 20.0
    began = time.perf_counter()
    with RobotLogWriter(Path(path), {"robot_id": "bench"}, chunk_size=1 << 20) as log:
        frames = int(seconds * camera_hz)
        for frame in range(frames):
            t_ns = T0 + int(frame * 1e9 / camera_hz)
            log.image(t_ns, rng.bytes(frame_bytes))
            # telemetry ticks (20 Hz) that fall before the next frame
            first = int(np.ceil(frame * control_hz / camera_hz))
            for tick in range(first, int(np.ceil((frame + 1) * control_hz / camera_hz))):
                tick_ns = T0 + int(tick * 1e9 / control_hz)
                log.odom(tick_ns, tick * 0.01, 0.0, 0.0, 0.5, 0.0)
                log.cmd_vel(tick_ns, 0.5, 0.0)
    return {"seconds": seconds, "wall": time.perf_counter() - began, "rss": _rss_mb()}


def read_window(path: str, start_ns: int, end_ns: int, cold: bool) -> dict:
    """Read every message of ``[start_ns, end_ns]`` through the chunk index."""
    from mcap.reader import make_reader

    _warm_up(path)
    _drop_cache(path, cold)
    began = time.perf_counter()
    count = size = 0
    with open(path, "rb") as stream:
        reader = make_reader(stream)
        for _, _, message in reader.iter_messages(starting_at=start_ns, ending_at=end_ns):
            count += 1
            size += len(message.data)
        summary = reader.get_summary()
        chunks = sum(
            1
            for c in summary.chunk_indexes
            if c.message_end_time >= start_ns and c.message_start_time <= end_ns
        )
    return {
        "wall": time.perf_counter() - began,
        "messages": count,
        "bytes": size,
        "chunks": chunks,
        "total_chunks": len(summary.chunk_indexes),
        "rss": _rss_mb(),
    }


def cut(path: str, out: str, start_ns: int, end_ns: int, cold: bool) -> dict:
    """Cut the window to a new MCAP with ``cut_window`` (what an upload does)."""
    from robotops.sim.logs.window import cut_window

    _warm_up(path)
    _drop_cache(path, cold)
    began = time.perf_counter()
    result = cut_window(Path(path), Path(out), start_ns, end_ns, None)
    return {"wall": time.perf_counter() - began, "bytes": result.size_bytes, "rss": _rss_mb()}


def full_scan(path: str, cold: bool) -> dict:
    """Read every message of the file with the same reader."""
    from mcap.reader import make_reader

    _warm_up(path)
    _drop_cache(path, cold)
    began = time.perf_counter()
    count = size = 0
    with open(path, "rb") as stream:
        for _, _, message in make_reader(stream).iter_messages():
            count += 1
            size += len(message.data)
    return {"wall": time.perf_counter() - began, "messages": count, "bytes": size, "rss": _rss_mb()}


def _warm_up(path: str) -> None:
    """Pay the reader's first-call costs (lazy imports, decompressor set-up) before timing."""
    from mcap.reader import make_reader

    with open(path, "rb") as stream:
        next(make_reader(stream).iter_messages(), None)


def _drop_cache(path: str, cold: bool) -> None:
    if cold:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _fresh(fn, *args) -> dict:
    """Run ``fn`` in a new process so its peak RSS is its own."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(fn, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--window-s", type=float, default=2.0)
    parser.add_argument("--windows", type=int, default=5, help="windows timed (median shown)")
    parser.add_argument("--frame-kb", type=int, default=150)
    parser.add_argument("--camera-hz", type=float, default=15.0)
    parser.add_argument("--dir", type=Path, default=None, help="where to write the temp log")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = str(Path(tmp) / "camera_heavy.mcap")
        gen = _fresh(generate, path, args.size_mb, args.frame_kb, args.camera_hz)
        size = os.path.getsize(path)
        span = int(gen["seconds"] * 1e9)
        width = int(args.window_s * 1e9)
        starts = [
            T0 + int((span - width) * (k + 1) / (args.windows + 1)) for k in range(args.windows)
        ]
        cold = [_fresh(read_window, path, s, s + width - 1, True) for s in starts]
        warm = [_fresh(read_window, path, s, s + width - 1, False) for s in starts]
        cuts = [
            _fresh(cut, path, str(Path(tmp) / f"w{k}.mcap"), s, s + width - 1, True)
            for k, s in enumerate(starts)
        ]
        scan_cold = _fresh(full_scan, path, True)
        scan_warm = _fresh(full_scan, path, False)

    def med(runs: list[dict], key: str = "wall") -> float:
        return statistics.median(r[key] for r in runs)

    print(
        f"log_window: {size / 2**20:.0f} MiB camera-heavy MCAP ({args.frame_kb} KiB frames "
        f"at {args.camera_hz:g} Hz + telemetry), {cold[0]['total_chunks']} chunks, "
        f"{gen['seconds']:.0f} s of log; written in {gen['wall']:.1f} s "
        f"({size / 2**20 / gen['wall']:.0f} MiB/s), peak RSS {gen['rss']:.0f} MiB"
    )
    print(f"{'read':38s} {'cold s':>8s} {'warm s':>8s} {'peak RSS MiB':>13s}")
    print(
        f"{f'{args.window_s:g} s window via index (median of {len(starts)})':38s} "
        f"{med(cold):8.4f} {med(warm):8.4f} {max(r['rss'] for r in cold + warm):13.0f}"
        f"   {cold[0]['chunks']} chunks, {cold[0]['messages']} msgs, "
        f"{cold[0]['bytes'] / 2**20:.1f} MiB"
    )
    print(
        f"{'cut_window of that window to a file':38s} {med(cuts):8.4f} {'':>8s} "
        f"{max(r['rss'] for r in cuts):13.0f}   {cuts[0]['bytes'] / 2**20:.1f} MiB written"
    )
    print(
        f"{'full scan, same reader':38s} {scan_cold['wall']:8.3f} {scan_warm['wall']:8.3f} "
        f"{max(scan_cold['rss'], scan_warm['rss']):13.0f}   {scan_cold['messages']} msgs, "
        f"{scan_cold['bytes'] / 2**20:.0f} MiB"
    )
    ratio_cold, ratio_warm = scan_cold["wall"] / med(cold), scan_warm["wall"] / med(warm)
    floor = cold[0]["total_chunks"] / max(cold[0]["chunks"], 1)
    print(
        f"speedup index vs scan: {ratio_cold:.0f}x cold, {ratio_warm:.0f}x warm "
        f"(goal >= 25x; chunks in file / chunks read = {floor:.0f}x); no ingest needed"
    )


if __name__ == "__main__":
    main()
