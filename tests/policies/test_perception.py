"""Perception: preprocessing, deterministic training, and weights that must match their card."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robotops.errors import LogFormatError
from robotops.policies.perception import PerceptionNet, preprocess
from robotops.policies.registry import PolicyCard, bundled_policy, load_policy, save_policy
from robotops.policies.training import TrainConfig, dataset_sha256, train_perception


def frames(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 255, (n, 96, 128, 3), dtype=np.uint8)
    y = (x[:, 48:, 48:80].mean(axis=(1, 2, 3)) > 127).astype(np.float32)
    return x, y


def test_preprocess_is_a_2x2_mean():
    x = np.arange(96 * 128 * 3, dtype=np.uint8).reshape(96, 128, 3)
    t = preprocess(x)
    assert t.shape == (1, 3, 48, 64)
    assert t[0, 0, 0, 0].item() == pytest.approx(x[:2, :2, 0].mean() / 255.0, rel=1e-6)


def test_training_is_deterministic():
    x, y = frames(48)
    cfg = TrainConfig(epochs=2, batch_size=16, seed=3)
    a, _ = train_perception(x, y, cfg)
    b, _ = train_perception(x, y, cfg)
    for (ka, va), (_, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(va, vb), ka
    assert dataset_sha256(x, y) == dataset_sha256(x.copy(), y.copy())


def test_tampered_weights_are_refused(tmp_path):
    weights = save_policy(PerceptionNet(), PolicyCard(version="vt", weights_sha256=""), tmp_path)
    load_policy(weights)
    weights.write_bytes(weights.read_bytes() + b"\0")
    with pytest.raises(LogFormatError, match="hash"):
        load_policy(weights)


def test_bundled_baseline_has_a_card_saying_how_it_was_made():
    perception, card = load_policy(bundled_policy("v1"))
    assert card.command.startswith("robotops policies train-baseline")
    assert card.dataset_sha256 and card.metrics["val_accuracy"] > 0.9
    assert 0.0 <= perception.obstacle_probability(np.zeros((96, 128, 3), np.uint8)) <= 1.0
