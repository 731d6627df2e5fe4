"""Train the perception model with torch: seeded, deterministic on the CPU, early-stopped.

Used for the baseline and for every fine-tune; the caller supplies frames and labels.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np
import torch
from pydantic import BaseModel
from torch import nn

from robotops.policies.perception import PerceptionNet, preprocess


class TrainConfig(BaseModel):
    epochs: int = 12
    batch_size: int = 64
    lr: float = 2e-3
    val_fraction: float = 0.15
    patience: int = 3
    seed: int = 0


class TrainReport(BaseModel):
    epochs_run: int
    train_loss: float
    val_loss: float
    val_accuracy: float
    samples: int


def dataset_sha256(frames: np.ndarray, labels: np.ndarray) -> str:
    """Content hash of a training set (frames and labels, in order)."""
    digest = hashlib.sha256(np.ascontiguousarray(frames).tobytes())
    digest.update(np.ascontiguousarray(labels, dtype=np.float32).tobytes())
    return digest.hexdigest()


def _evaluate(net: PerceptionNet, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    net.eval()
    with torch.inference_mode():
        logits = net(x)
        loss = nn.functional.binary_cross_entropy_with_logits(logits, y).item()
        acc = ((logits > 0).float() == y).float().mean().item()
    return loss, acc


def train_perception(
    frames: np.ndarray,
    labels: np.ndarray,
    config: TrainConfig,
    init: PerceptionNet | None = None,
    progress: Callable[[int, float, float], None] | None = None,
) -> tuple[PerceptionNet, TrainReport]:
    """Fit (or fine-tune ``init``) on uint8 frames (N, 96, 128, 3) and 0/1 labels (N,)."""
    torch.manual_seed(config.seed)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(len(frames))
    n_val = max(1, int(len(frames) * config.val_fraction))
    val_idx, train_idx = order[:n_val], order[n_val:]
    x = preprocess(frames)
    y = torch.from_numpy(np.asarray(labels, dtype=np.float32))
    net = init if init is not None else PerceptionNet()
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    best, best_state, stale, epochs_run, train_loss = float("inf"), None, 0, 0, 0.0
    for epoch in range(config.epochs):
        net.train()
        perm = train_idx[rng.permutation(len(train_idx))]
        losses = []
        for start in range(0, len(perm), config.batch_size):
            idx = torch.from_numpy(perm[start : start + config.batch_size])
            loss = nn.functional.binary_cross_entropy_with_logits(net(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        train_loss = float(np.mean(losses))
        val_loss, _ = _evaluate(net, x[val_idx], y[val_idx])
        epochs_run = epoch + 1
        if progress:
            progress(epochs_run, train_loss, val_loss)
        if val_loss < best - 1e-4:
            best, stale = val_loss, 0
            best_state = {k: v.clone() for k, v in net.state_dict().items()}
        else:
            stale += 1
            if stale >= config.patience:
                break
    if best_state is not None:
        net.load_state_dict(best_state)
    val_loss, val_acc = _evaluate(net, x[val_idx], y[val_idx])
    return net, TrainReport(
        epochs_run=epochs_run,
        train_loss=train_loss,
        val_loss=val_loss,
        val_accuracy=val_acc,
        samples=len(frames),
    )
