"""The perception model: a small CNN that reads the camera frame and says "obstacle ahead?".

It is deliberately camera-only, like many deployed stacks whose range sensor is a last-resort
safety layer; that is what makes glare and hard shadows dangerous to it.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

INPUT_HW = (48, 64)


class PerceptionNet(nn.Module):
    """Frame (B, 3, 48, 64) in [0, 1] -> logit of an obstacle in the robot's path within ~2 m."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 5, stride=2, padding=2),
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 32, 3, stride=2, padding=1),
            nn.ReLU(),
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(32 * 6 * 8, 64), nn.ReLU(), nn.Linear(64, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(-1)


def preprocess(frames: np.ndarray) -> torch.Tensor:
    """uint8 frames (B, 96, 128, 3) or one (96, 128, 3) -> float tensor (B, 3, 48, 64).

    Downsampling is a 2x2 mean in numpy (no torchvision), so training and the robot agree.
    """
    if frames.ndim == 3:
        frames = frames[None]
    b, h, w, c = frames.shape
    small = frames.reshape(b, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4), dtype=np.float32) / 255.0
    return torch.from_numpy(np.ascontiguousarray(small.transpose(0, 3, 1, 2)))


class Perception:
    """A loaded perception model with its version, ready for per-frame inference."""

    def __init__(self, net: PerceptionNet, version: str) -> None:
        self.net = net.eval()
        self.version = version

    @torch.inference_mode()
    def obstacle_probability(self, frame: np.ndarray) -> float:
        return float(torch.sigmoid(self.net(preprocess(frame)))[0])


@torch.inference_mode()
def probabilities(perception: Perception, frames: np.ndarray, batch: int = 256) -> np.ndarray:
    """Stop probabilities of ``frames`` (N, H, W, 3 uint8) under ``perception``, in batches."""
    out = [
        torch.sigmoid(perception.net(preprocess(frames[i : i + batch]))).numpy()
        for i in range(0, len(frames), batch)
    ]
    return np.concatenate(out) if out else np.zeros(0, np.float32)
