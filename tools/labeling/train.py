"""Train the embedded labeler on simulated frames: seeded, deterministic on the CPU.

``robotops labels train-embedded`` renders frames with simulator ground truth
(:mod:`robotops.tools.labeling.simframes`), trains the classifier and its statistics-only heads,
picks per label which head decides it (statistics where they do as well as the CNN) and the
threshold with the best F1 on held-out frames, and writes weights plus a card recording the
seed, the dataset's hash and the command.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch
from pydantic import BaseModel
from torch import nn

from robotops.tools.labeling.classifier import LabelNet, prepare
from robotops.tools.labeling.simframes import LabeledFrames, WorldFn, render_labeled
from robotops.tools.labeling.weights import DEFAULT_VERSION, LabelerCard, save_labeler

CHUNK = 64  # frames per rendering task; the chunk index seeds it, so pool size changes nothing
STATS_SLACK = 0.03  # statistics decide a label if their F1 is within this of the CNN's


class TrainConfig(BaseModel):
    epochs: int = 30
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    val_fraction: float = 0.2
    seed: int = 0
    width: int = 16


def render_dataset(
    n: int, seed: int, world: WorldFn | None = None, workers: int = 0, degrade_p: float = 0.35
) -> LabeledFrames:
    """``n`` labeled frames rendered in chunks over a process pool, identical for any pool."""
    chunks = [(min(CHUNK, n - start), (seed, i)) for i, start in enumerate(range(0, n, CHUNK))]
    kwargs = {"degrade_p": degrade_p} | ({"world": world} if world is not None else {})
    n_workers = min(workers or os.cpu_count() or 1, len(chunks))
    if n_workers <= 1:
        parts = [render_labeled(size, s, **kwargs) for size, s in chunks]
    else:
        with ProcessPoolExecutor(n_workers, mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(render_labeled, size, s, **kwargs) for size, s in chunks]
            parts = [f.result() for f in futures]
    return LabeledFrames(
        np.concatenate([p.frames for p in parts]),
        np.concatenate([p.labels for p in parts]),
        np.concatenate([p.mask for p in parts]),
        parts[0].names,
        np.concatenate([p.targets for p in parts]),
    )


def dataset_sha256(data: LabeledFrames) -> str:
    """The hash of a labeled frame set (pixels, labels, targets, mask, names)."""
    digest = hashlib.sha256(np.ascontiguousarray(data.frames).tobytes())
    for array in (data.labels, data.targets, data.mask):
        digest.update(np.ascontiguousarray(array, dtype=np.float32).tobytes())
    digest.update(",".join(data.names).encode())
    return digest.hexdigest()


def prf(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Precision, recall, F1 and support of 0/1 predictions against 0/1 truth."""
    tp = float(np.sum((pred == 1) & (truth == 1)))
    fp = float(np.sum((pred == 1) & (truth == 0)))
    fn = float(np.sum((pred == 0) & (truth == 1)))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f1, "support": tp + fn}


def _best_threshold(prob: np.ndarray, truth: np.ndarray) -> tuple[float, dict[str, float]]:
    best = (0.5, prf((prob >= 0.5).astype(int), truth))
    for t in np.arange(0.2, 0.81, 0.05):
        score = prf((prob >= t).astype(int), truth)
        if score["f1"] > best[1]["f1"] + 1e-9:
            best = (float(round(t, 2)), score)
    return best


def _loss(logits: torch.Tensor, y: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    raw = nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none")
    return (raw * m).sum() / m.sum().clamp(min=1.0)


def train_classifier(
    data: LabeledFrames, config: TrainConfig, progress: Callable[[int, float], None] | None = None
) -> tuple[LabelNet, dict[str, dict[str, float]]]:
    """Fit the classifier; returns it (thresholds and heads chosen) and validation metrics."""
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.manual_seed(config.seed)
    torch.use_deterministic_algorithms(True)
    try:
        return _train(data, config, progress)
    finally:
        torch.use_deterministic_algorithms(deterministic)


def _train(
    data: LabeledFrames, config: TrainConfig, progress: Callable[[int, float], None] | None
) -> tuple[LabelNet, dict[str, dict[str, float]]]:
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(len(data.frames))
    n_val = max(1, int(len(order) * config.val_fraction))
    val, train = order[:n_val], order[n_val:]
    images, stats = prepare(data.frames)
    y, m = torch.from_numpy(data.targets), torch.from_numpy(data.mask)
    net = LabelNet(len(data.names), width=config.width)
    net.stats_mean.copy_(stats[train].mean(dim=0))
    net.stats_std.copy_(stats[train].std(dim=0).clamp(min=1e-4))
    opt = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.epochs)
    for epoch in range(config.epochs):
        net.train()
        losses = []
        perm = train[rng.permutation(len(train))]
        for start in range(0, len(perm), config.batch_size):
            idx = torch.from_numpy(perm[start : start + config.batch_size])
            x = images[idx]
            if rng.random() < 0.5:  # mirror images: every label and statistic is symmetric
                x = torch.flip(x, dims=[3])
            cnn, by_stats = net(x, stats[idx])
            loss = _loss(cnn, y[idx], m[idx]) + _loss(by_stats, y[idx], m[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        sched.step()
        if progress:
            progress(epoch + 1, float(np.mean(losses)))
    return net.eval(), _choose_heads(net, images[val], stats[val], data, val)


def _choose_heads(
    net: LabelNet, images: torch.Tensor, stats: torch.Tensor, data: LabeledFrames, val: np.ndarray
) -> dict[str, dict[str, float]]:
    """Per label: statistics or CNN, and the threshold with the best validation F1."""
    with torch.inference_mode():
        cnn, by_stats = (torch.sigmoid(t).numpy() for t in net(images, stats))
    truth = data.labels[val]
    metrics = {}
    for j, name in enumerate(data.names):
        t_cnn, s_cnn = _best_threshold(cnn[:, j], truth[:, j])
        t_stats, s_stats = _best_threshold(by_stats[:, j], truth[:, j])
        use_stats = s_stats["f1"] >= s_cnn["f1"] - STATS_SLACK and s_stats["support"] > 0
        net.use_stats[j] = use_stats
        net.thresholds[j] = t_stats if use_stats else t_cnn
        chosen = s_stats if use_stats else s_cnn
        metrics[name] = {
            **chosen,
            "threshold": float(net.thresholds[j]),
            "stats_only": float(use_stats),
            "cnn_f1": s_cnn["f1"],
            "stats_f1": s_stats["f1"],
        }
    return metrics


def train_embedded(
    out_dir: Path,
    frames: int = 3200,
    seed: int = 0,
    epochs: int = 30,
    workers: int = 0,
    version: str = DEFAULT_VERSION,
    progress: Callable[[str], None] | None = None,
) -> tuple[Path, LabelerCard]:
    """Render ``frames`` simulated frames, train, and save ``version`` with its card."""
    if progress:
        progress(f"rendering {frames} frames with simulator ground truth")
    data = render_dataset(frames, seed, workers=workers)
    if progress:
        progress("training")
    config = TrainConfig(epochs=epochs, seed=seed)
    net, metrics = train_classifier(data, config)
    names = list(data.names)
    card = LabelerCard(
        version=version,
        labels=names,
        stats_labels=[n for j, n in enumerate(names) if bool(net.use_stats[j])],
        thresholds={n: round(float(net.thresholds[j]), 4) for j, n in enumerate(names)},
        dataset_sha256=dataset_sha256(data),
        frames=frames,
        seed=seed,
        command=f"robotops labels train-embedded --frames {frames} --seed {seed} --epochs {epochs}",
        metrics={n: {k: round(v, 4) for k, v in m.items()} for n, m in metrics.items()},
        width=config.width,
    )
    return save_labeler(net, card, out_dir), card
