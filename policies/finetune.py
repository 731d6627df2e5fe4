"""Fine-tune a perception version on a dataset into a new version, resumable after a kill.

The parent's weights are the starting point; the dataset's own split (by robot and time block)
is the validation set; checkpoints live under the data dir in a folder named by everything that
determines the result (dataset, parent weights, config, version), so a rerun of the same command
resumes and a different command never picks up a stranger's checkpoints.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from pydantic import BaseModel, Field

from robotops.errors import InvalidRequestError, NotFoundError
from robotops.policies.perception import Perception, PerceptionNet, probabilities
from robotops.policies.registry import BUNDLED_DIR, PolicyCard, load_card, load_policy, save_policy
from robotops.policies.training import (
    Checkpoints,
    TrainConfig,
    TrainReport,
    state_sha256,
    train_perception,
)

if TYPE_CHECKING:
    from robotops.tools.datasets.frames import FrameSet

POLICY_DIR = "policies"
CHECKPOINT_DIR = "checkpoints"


class FinetuneConfig(BaseModel):
    """How to fine-tune (defaults sized for a few thousand frames on 2 CPU cores)."""

    epochs: int = Field(20, ge=1)
    batch_size: int = Field(64, ge=1)
    lr: float = Field(1e-3, gt=0.0)
    patience: int = Field(4, ge=1)
    seed: int = 0
    device: str = Field("cpu", description="cpu, cuda, or auto (CUDA when present)")
    target_recall: float | None = Field(
        0.99, gt=0.0, le=1.0, description="calibrate the stop probability to this val recall"
    )
    min_stop_probability: float = Field(
        0.3, gt=0.0, lt=1.0, description="never stop on less (phantoms double by 0.2)"
    )
    pos_weight: float | None = Field(2.0, gt=0.0, description="loss weight of obstacle frames")

    def train_config(self) -> TrainConfig:
        return TrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            patience=self.patience,
            seed=self.seed,
            device=self.device,
            pos_weight=self.pos_weight,
        )


class FinetuneResult(BaseModel):
    """The new version, where it is, and how training went."""

    card: PolicyCard
    weights_path: str
    report: TrainReport
    seconds: float
    state_sha256: str
    checkpoint_dir: str
    resumed: bool


def policy_dir(data_dir: Path) -> Path:
    return Path(data_dir) / POLICY_DIR


def resolve_weights(version: str, data_dir: Path) -> Path:
    """A version's weights: trained ones under the data dir first, then the bundled ones.

    Raises:
        NotFoundError: no such version anywhere.
    """
    for folder in (policy_dir(data_dir), BUNDLED_DIR):
        path = folder / f"{version}.pt"
        if path.is_file():
            return path
    known = sorted({p.stem for d in (policy_dir(data_dir), BUNDLED_DIR) for p in d.glob("*.pt")})
    raise NotFoundError("policy version", version, known)


def run_key(dataset_sha: str, parent_sha: str, config: FinetuneConfig, version: str) -> str:
    blob = json.dumps([dataset_sha, parent_sha, config.model_dump(), version], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def finetune(
    frames: FrameSet,
    dataset_sha: str,
    parent: Path,
    version: str,
    data_dir: Path,
    config: FinetuneConfig | None = None,
    progress: Callable[[int, float, float], None] | None = None,
    command: str = "",
) -> FinetuneResult:
    """Fine-tune the policy at ``parent`` on ``frames`` (a :class:`FrameSet`) into ``version``.

    Raises:
        InvalidRequestError: the dataset has no training or no validation frames, or the
            version already exists with other weights.
    """
    config = config or FinetuneConfig()
    val_idx, train_idx = frames.split
    if len(train_idx) == 0 or len(val_idx) == 0:
        raise InvalidRequestError(
            f"dataset {dataset_sha[:12]} has {len(train_idx)} training and {len(val_idx)} "
            "validation frames; both are needed (more logs, or a higher val_fraction)"
        )
    parent_perception, parent_card = load_policy(parent)
    net = PerceptionNet()
    net.load_state_dict(parent_perception.net.state_dict())
    key = run_key(dataset_sha, parent_card.weights_sha256, config, version)
    checkpoints = Checkpoints(Path(data_dir) / CHECKPOINT_DIR / key)
    resumed = checkpoints.latest() is not None
    started = time.perf_counter()
    net, report = train_perception(
        frames.frames,
        frames.targets,
        config.train_config(),
        init=net,
        progress=progress,
        split=(val_idx, train_idx),
        checkpoints=checkpoints,
    )
    seconds = time.perf_counter() - started
    stop, val_recall = calibrate_stop_probability(net, frames, config, parent_card)
    card = PolicyCard(
        version=version,
        parent=parent_card.version,
        weights_sha256="",
        dataset_sha256=dataset_sha,
        command=command
        or f"robotops train --dataset {dataset_sha[:12]} --from {parent_card.version}",
        seed=config.seed,
        metrics={
            "val_accuracy": report.val_accuracy,
            "val_loss": report.val_loss,
            "train_loss": report.train_loss,
            "epochs": float(report.epochs_run),
            "frames": float(len(frames.targets)),
            "positive_fraction": float(frames.targets.mean()),
            "val_recall": val_recall,
            "stop_probability": stop,
        },
        controller=parent_card.controller.model_copy(update={"stop_probability": stop}),
    )
    out = policy_dir(data_dir)
    _refuse_overwrite(out / f"{version}.pt", net)
    weights = save_policy(net, card, out)
    return FinetuneResult(
        card=card,
        weights_path=str(weights),
        report=report,
        seconds=seconds,
        state_sha256=state_sha256(net),
        checkpoint_dir=str(checkpoints.directory),
        resumed=resumed,
    )


def calibrate_stop_probability(
    net: PerceptionNet, frames: FrameSet, config: FinetuneConfig, parent: PolicyCard
) -> tuple[float, float]:
    """The highest stop probability (at most the parent's, at least ``min_stop_probability``)
    whose recall on the validation split reaches ``target_recall`` - or, when none does, the
    highest one with the best recall reachable - and that recall. A missed real obstacle
    costs more than a phantom, so the operating point is chosen
    for recall on data the weights never trained on."""
    val_idx, _ = frames.split
    positive = frames.targets[val_idx] >= 0.5
    probs = probabilities(Perception(net, "candidate"), frames.frames[val_idx])
    ceiling = parent.controller.stop_probability

    def recall(t: float) -> float:
        return float((probs[positive] >= t).mean()) if positive.any() else 1.0

    if config.target_recall is None:
        return ceiling, recall(ceiling)
    grid = np.arange(ceiling, config.min_stop_probability - 1e-9, -0.01)
    steps = [float(t) for t in np.round(grid, 2)]
    recalls = [recall(t) for t in steps]
    reached = [t for t, r in zip(steps, recalls, strict=True) if r >= config.target_recall]
    if reached:
        return reached[0], recall(reached[0])
    best = max(recalls)  # out of reach: go no lower than the best recall needs
    stop = next(t for t, r in zip(steps, recalls, strict=True) if r >= best)
    return stop, best


def _refuse_overwrite(path: Path, net: PerceptionNet) -> None:
    """A version name is forever: retraining into an existing name must give the same weights."""
    if not path.is_file():
        return
    old = PerceptionNet()
    old.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    if state_sha256(old) != state_sha256(net):
        raise InvalidRequestError(
            f"policy {load_card(path).version} already exists at {path} with other weights; "
            "choose a new --version"
        )
