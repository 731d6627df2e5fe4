"""Benchmark: fine-tune v1 on hazard frames and measure phantoms and recall on held-out worlds.

The full tool path: a dataset of simulator frames rendered in glare/shadow worlds (seeded like
shifts place hazards) is built and stored, gated, v1 is fine-tuned into a new version on
``--threads`` CPU threads, and both versions are scored on frames rendered in *other* worlds
with another seed. Prints frames, render and training time, training throughput (frame-epochs
per second, what the training planner's cost estimate uses) and the eval figures.

    python benchmarks/perception_finetune.py [--frames 1500] [--epochs 20] [--eval-frames 600]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

import torch  # noqa: E402

from robotops.evals.perception import default_eval_worlds, evaluate_perception  # noqa: E402
from robotops.memory.blobs import LocalBlobStore  # noqa: E402
from robotops.memory.catalog import Catalog  # noqa: E402
from robotops.policies.finetune import FinetuneConfig  # noqa: E402
from robotops.policies.registry import bundled_policy  # noqa: E402
from robotops.tools.datasets.build import DatasetRequest, build_dataset  # noqa: E402
from robotops.tools.datasets.store import save_dataset  # noqa: E402
from robotops.tools.datasets.train import TrainPolicyRequest, train_policy_version  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1500)
    parser.add_argument("--worlds", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--pos-weight", type=float, default=2.0)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--eval-frames", type=int, default=600)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=None, help="keep the data dir here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    root = args.out or Path(tempfile.mkdtemp(prefix="robotops-ft-"))
    catalog = Catalog(f"sqlite:///{root / 'catalog.db'}")
    blobs = LocalBlobStore(root / "blobs")

    t = time.perf_counter()
    request = DatasetRequest(
        name="bench-hazards",
        log_ids=[],
        labels=[],
        worlds=default_eval_worlds(seed=100, n=args.worlds),
        sim_frames=args.frames,
        seed=1,
    )
    manifest = build_dataset(request, catalog, blobs)
    sha = save_dataset(manifest, catalog, blobs)
    render_s = time.perf_counter() - t

    config = FinetuneConfig(
        epochs=args.epochs, lr=args.lr, device=args.device, pos_weight=args.pos_weight
    )
    trained = train_policy_version(
        TrainPolicyRequest(dataset=sha, parent="v1", version="v2", config=config),
        catalog,
        blobs,
        root,
    )
    frame_epochs = trained.metrics["frames"] * trained.epochs_run
    result = evaluate_perception(
        Path(trained.weights_path),
        bundled_policy("v1"),
        default_eval_worlds(seed=200, n=args.worlds),
        args.eval_frames,
        seed=9_001,
    )
    figures = {
        "train_frames": len(manifest.frames),
        "counts": manifest.counts(),
        "render_s": round(render_s, 1),
        "train_s": round(trained.seconds, 1),
        "epochs_run": trained.epochs_run,
        "threads": args.threads,
        "frame_epochs_per_s": round(frame_epochs / trained.seconds, 1),
        "eval": result.model_dump(),
        "data_dir": str(root),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
