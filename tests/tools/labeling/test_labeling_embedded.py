"""The embedded labeler's weights: shipped with a card, verified on load, reproducible."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from robotops.policies.registry import sha256_file
from robotops.settings import LabelerSettings
from robotops.tools.labeling.backends.embedded import EmbeddedBackend
from robotops.tools.labeling.registry import create_backend
from robotops.tools.labeling.train import train_embedded
from robotops.tools.labeling.vocabulary import load_vocabulary
from robotops.tools.labeling.weights import (
    LabelerWeightsError,
    bundled_weights,
    load_card,
    load_labeler,
)


def test_shipped_weights_match_their_card_and_cover_the_vocabulary() -> None:
    weights = bundled_weights()
    card = load_card(weights)
    assert sha256_file(weights) == card.weights_sha256
    assert weights.stat().st_size < 1_000_000
    assert card.command.startswith("robotops labels train-embedded") and card.dataset_sha256
    assert set(card.labels) == set(load_vocabulary().names)
    backend = create_backend("embedded", LabelerSettings(), load_vocabulary())
    assert backend.identity().model == f"sha256:{card.weights_sha256}"
    assert backend.covers() == load_vocabulary().names


def test_altered_or_missing_weights_are_refused(tmp_path: Path) -> None:
    copy = tmp_path / "embedded-v1.pt"
    shutil.copyfile(bundled_weights(), copy)
    shutil.copyfile(bundled_weights().with_suffix(".json"), copy.with_suffix(".json"))
    copy.write_bytes(copy.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(LabelerWeightsError, match="is not the recorded.*train-embedded"):
        load_labeler(copy)
    with pytest.raises(LabelerWeightsError, match="no such file"):
        EmbeddedBackend(LabelerSettings(embedded_weights=tmp_path / "x.pt"), load_vocabulary())


def test_training_is_reproducible_by_one_command(
    tmp_path: Path, scenes: dict[str, np.ndarray]
) -> None:
    cards = [
        train_embedded(tmp_path / name, frames=16, seed=5, epochs=1, workers=1)[1]
        for name in ("a", "b")
    ]
    assert cards[0].weights_sha256 == cards[1].weights_sha256
    assert cards[0].dataset_sha256 == cards[1].dataset_sha256
    assert cards[0].command == "robotops labels train-embedded --frames 16 --seed 5 --epochs 1"
    settings = LabelerSettings(embedded_weights=tmp_path / "a" / "embedded-v1.pt")
    backend = create_backend("embedded", settings, load_vocabulary())
    assert backend.identity().model == f"sha256:{cards[0].weights_sha256}"
    assert len(backend.label_frames([scenes["plain"]])) == 1
