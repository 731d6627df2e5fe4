"""Benchmark: embedded labeler throughput, per core and end to end.

1. Backend only: labeled frames per second on one core (``torch.set_num_threads(1)``), for
   simulated 128 x 96 frames and for 640 x 480 frames (resized first), in batches of 64.
2. End to end: ``--logs`` robot logs with ``--segments`` 2 s segments in all (5 Hz camera,
   JPEG) are ingested, then ``label_segments`` reads, decodes, samples 3 frames per segment,
   labels, stores and re-describes them (no vector index: that is the search benchmark's
   business), with 1 worker and with ``--workers`` (one log per task); segments/s and frames/s
   are printed beside peak memory.

    python benchmarks/labeler.py [--frames 256] [--segments 400] [--logs 4] [--workers N]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from robotops.evals.labeler import write_frames_log  # noqa: E402
from robotops.memory.labels import LabelStore  # noqa: E402
from robotops.settings import LabelerSettings, Settings  # noqa: E402
from robotops.tools.labeling.backends.embedded import EmbeddedBackend  # noqa: E402
from robotops.tools.labeling.models import LabelRequest  # noqa: E402
from robotops.tools.labeling.run import LabelDeps, label_segments  # noqa: E402
from robotops.tools.labeling.simframes import render_labeled, shift_world  # noqa: E402
from robotops.tools.labeling.vocabulary import load_vocabulary  # noqa: E402
from robotops.tools.logs.ingest import IngestDeps, IngestRequest, ingest_log  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def backend_rate(backend: EmbeddedBackend, frames: list[np.ndarray], repeats: int = 3) -> float:
    backend.label_frames(frames[:8])  # warm up
    best = 0.0
    for _ in range(repeats):
        t = time.perf_counter()
        for start in range(0, len(frames), 64):
            backend.label_frames(frames[start : start + 64])
        best = max(best, len(frames) / (time.perf_counter() - t))
    return best


def end_to_end(
    frames: np.ndarray, segments: int, logs: int, workers: int
) -> tuple[float, float, float]:
    """(segments/s, frames judged/s, seconds) for labeling ``logs`` ingested logs."""
    with tempfile.TemporaryDirectory(prefix="bench-labeler-") as tmp:
        root = Path(tmp)
        settings = Settings(data_dir=root / "data")
        ingest = IngestDeps.from_settings(settings)
        for n, part in enumerate(np.array_split(np.arange(segments), logs)):
            log = write_frames_log(root / f"{n}.mcap", frames[part % len(frames)], f"r{n}")
            ingest_log(IngestRequest(path=log), ingest)
        deps = LabelDeps(
            catalog=ingest.catalog,
            blobs=ingest.blobs,
            settings=LabelerSettings(workers=workers),
            vocabulary=load_vocabulary(),
            store=LabelStore(ingest.catalog),
        )
        t = time.perf_counter()
        result = label_segments(LabelRequest(), deps)
        seconds = time.perf_counter() - t
        ingest.catalog.close()
    judged = result.labeled * deps.settings.frames_per_segment
    return result.labeled / seconds, judged / seconds, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=256)
    parser.add_argument("--segments", type=int, default=400)
    parser.add_argument("--logs", type=int, default=4)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    data = render_labeled(args.frames, seed=4242, world=shift_world)
    torch.set_num_threads(1)
    backend = EmbeddedBackend(LabelerSettings(), load_vocabulary())
    small = list(data.frames)
    large = [np.asarray(Image.fromarray(f).resize((640, 480))) for f in small]
    print(f"embedded labeler {backend.card.weights_sha256[:12]}, {os.cpu_count()} CPUs")
    print(f"backend, 1 core, 128x96 frames: {backend_rate(backend, small):8.0f} frames/s")
    print(f"backend, 1 core, 640x480 frames: {backend_rate(backend, large):8.0f} frames/s")
    # measure the pool itself, even where run.py would judge the job too small to spawn for
    EmbeddedBackend.min_segments_per_worker = 1
    for workers in sorted({1, args.workers}):
        seg_s, frames_s, seconds = end_to_end(data.frames, args.segments, args.logs, workers)
        print(
            f"end to end, {workers} worker(s): {args.segments} segments in {seconds:.1f} s = "
            f"{seg_s:.0f} segments/s, {frames_s:.0f} frames/s "
            f"({frames_s / workers:.0f} per worker)"
        )
    print(f"peak memory (this process): {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
