"""The embedded labeler's classifier: a small CNN over the frame plus its image statistics.

Multi-label: one sigmoid per label it was trained on. Labels whose image statistics find them
on their own (see :mod:`robotops.tools.labeling.train`) are decided by a logistic regression on
the statistics alone, which is cheap, explainable and does not depend on what the simulator's
pixels look like; the rest by the CNN, which also sees the statistics. Which label uses which,
the decision thresholds and the statistics' normalisation are buffers of the module, so they
travel inside the weights file and cannot drift apart from them.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from robotops.tools.labeling.imagestats import STAT_NAMES, image_stats, to_working_size


def _conv(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)
    )


class LabelNet(nn.Module):
    """CNN + statistics → one logit per label; statistics-only logits where they suffice."""

    stats_mean: torch.Tensor
    stats_std: torch.Tensor
    thresholds: torch.Tensor
    use_stats: torch.Tensor

    def __init__(self, n_labels: int, n_stats: int = len(STAT_NAMES), width: int = 16) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(
            _conv(3, w), _conv(w, 2 * w), _conv(2 * w, 3 * w), _conv(3 * w, 4 * w)
        )
        self.head = nn.Sequential(
            nn.Linear(8 * w + n_stats, 64), nn.ReLU(inplace=True), nn.Linear(64, n_labels)
        )
        self.stats_head = nn.Linear(n_stats, n_labels)
        self.register_buffer("stats_mean", torch.zeros(n_stats))
        self.register_buffer("stats_std", torch.ones(n_stats))
        self.register_buffer("thresholds", torch.full((n_labels,), 0.5))
        self.register_buffer("use_stats", torch.zeros(n_labels, dtype=torch.bool))

    def forward(
        self, images: torch.Tensor, stats: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits of the CNN and of the statistics-only heads, each (N, n_labels)."""
        z = (stats - self.stats_mean) / self.stats_std
        f = self.features(images)
        pooled = torch.cat([f.mean(dim=(2, 3)), f.amax(dim=(2, 3))], dim=1)
        return self.head(torch.cat([pooled, z], dim=1)), self.stats_head(z)

    def probabilities(self, images: torch.Tensor, stats: torch.Tensor) -> torch.Tensor:
        """The probability of each label, from the head that decides it."""
        cnn, by_stats = self.forward(images, stats)
        return torch.sigmoid(torch.where(self.use_stats, by_stats, cnn))


def prepare(frames: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Frames (N, H, W, 3) uint8 at the working size → image tensor and statistics tensor."""
    images = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0
    return images, torch.from_numpy(image_stats(frames))


def prepare_any(frames: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Frames of any size → the working size → tensors for :class:`LabelNet`."""
    return prepare(np.stack([to_working_size(f) for f in frames]))
