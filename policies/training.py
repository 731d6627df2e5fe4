"""Train the perception model with torch: seeded, deterministic on the CPU, early-stopped.

Used for the baseline and for every fine-tune; the caller supplies frames and labels, and
optionally its own train/validation split and a checkpoint directory. With checkpoints, every
epoch's full state (weights, optimizer, sampling RNG, early-stopping bookkeeping) is saved, and
a rerun after a kill resumes from the last one and ends with the same weights, bit for bit on
the CPU, as a run that was never interrupted.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

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
    device: str = "cpu"
    pos_weight: float | None = None  # > 1 trades phantoms for recall


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


def state_sha256(net: nn.Module) -> str:
    """Hash of a model's parameters and buffers (names, shapes, bytes), independent of files."""
    digest = hashlib.sha256()
    for name, tensor in sorted(net.state_dict().items()):
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


class Checkpoints:
    """One run's per-epoch checkpoints in a directory; the newest is what a rerun resumes."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path(self, epoch: int) -> Path:
        return self.directory / f"epoch-{epoch:04d}.pt"

    def latest(self) -> Path | None:
        found = sorted(self.directory.glob("epoch-*.pt"))
        return found[-1] if found else None

    def save(self, epoch: int, state: dict) -> Path:
        """Write atomically, then drop older epochs: a kill mid-write leaves the last one."""
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.path(epoch)
        tmp = target.with_suffix(".part")
        torch.save(state, tmp)
        os.replace(tmp, target)
        for old in self.directory.glob("epoch-*.pt"):
            if old != target:
                old.unlink(missing_ok=True)
        return target

    def load(self) -> dict | None:
        latest = self.latest()
        return None if latest is None else torch.load(latest, map_location="cpu", weights_only=True)


def _cpu_state(net: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}


def _device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS
    return torch.device(name)


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
    split: tuple[np.ndarray, np.ndarray] | None = None,
    checkpoints: Checkpoints | None = None,
) -> tuple[PerceptionNet, TrainReport]:
    """Fit (or fine-tune ``init``) on uint8 frames (N, 96, 128, 3) and 0/1 labels (N,).

    ``split`` is (validation indices, training indices); by default a seeded random fraction.
    ``progress(epoch, train_loss, val_loss)`` runs after each epoch's checkpoint is written,
    so an exception raised there is a kill the next run resumes from.
    """
    torch.manual_seed(config.seed)
    torch.use_deterministic_algorithms(True)
    device = _device(config.device)
    rng = np.random.default_rng(config.seed)
    if split is None:
        order = rng.permutation(len(frames))
        n_val = max(1, int(len(frames) * config.val_fraction))
        val_idx, train_idx = order[:n_val], order[n_val:]
    else:
        val_idx, train_idx = (np.asarray(s, dtype=np.int64) for s in split)
    x = preprocess(frames).to(device)
    y = torch.from_numpy(np.asarray(labels, dtype=np.float32)).to(device)
    net = (init if init is not None else PerceptionNet()).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    pos_weight = (
        torch.tensor(config.pos_weight, device=device) if config.pos_weight is not None else None
    )
    best, best_state, stale, epochs_run, train_loss = float("inf"), None, 0, 0, 0.0
    resumed = checkpoints.load() if checkpoints else None
    if resumed is not None:
        net.load_state_dict(resumed["net"])
        opt.load_state_dict(resumed["opt"])
        rng.bit_generator.state = json.loads(resumed["rng"])
        best, stale, epochs_run = resumed["best"], resumed["stale"], resumed["epoch"]
        train_loss, best_state = resumed["train_loss"], resumed["best_state"]
    stopped = resumed is not None and resumed["stopped"]
    for epoch in range(epochs_run, 0 if stopped else config.epochs):
        net.train()
        perm = train_idx[rng.permutation(len(train_idx))]
        losses = []
        for start in range(0, len(perm), config.batch_size):
            idx = torch.from_numpy(perm[start : start + config.batch_size]).to(device)
            loss = nn.functional.binary_cross_entropy_with_logits(
                net(x[idx]), y[idx], pos_weight=pos_weight
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        train_loss = float(np.mean(losses))
        val_loss, _ = _evaluate(net, x[val_idx], y[val_idx])
        epochs_run = epoch + 1
        if val_loss < best - 1e-4:
            best, stale = val_loss, 0
            best_state = _cpu_state(net)
        else:
            stale += 1
        stopped = stale >= config.patience
        if checkpoints:
            checkpoints.save(
                epochs_run,
                {
                    "net": _cpu_state(net),
                    "opt": opt.state_dict(),
                    "rng": json.dumps(rng.bit_generator.state),
                    "best": best,
                    "stale": stale,
                    "epoch": epochs_run,
                    "train_loss": train_loss,
                    "best_state": best_state,
                    "stopped": stopped,
                },
            )
        if progress:
            progress(epochs_run, train_loss, val_loss)
        if stopped:
            break
    if best_state is not None:
        net.load_state_dict(best_state)
    val_loss, val_acc = _evaluate(net, x[val_idx], y[val_idx])
    return net.cpu(), TrainReport(
        epochs_run=epochs_run,
        train_loss=train_loss,
        val_loss=val_loss,
        val_accuracy=val_acc,
        samples=len(frames),
    )
