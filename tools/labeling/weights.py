"""Embedded labeler versions as files: classifier weights plus a JSON card of their provenance.

The same pattern as the policy registry (:mod:`robotops.policies.registry`): the card records
the sha256 of the weights actually written, the dataset's hash, the seed and the one command
that reproduces them, and loading refuses weights whose bytes are not the recorded ones.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import torch
from pydantic import BaseModel, Field

from robotops.errors import ConfigError, NotFoundError
from robotops.policies.registry import sha256_file
from robotops.tools.labeling.classifier import LabelNet

DEFAULT_VERSION = "embedded-v1"


class LabelerCard(BaseModel):
    """What an embedded labeler's weights are and how to make them again."""

    version: str
    labels: list[str] = Field(description="the classifier's outputs, in order")
    stats_labels: list[str] = Field(
        default_factory=list, description="labels decided by image statistics alone"
    )
    thresholds: dict[str, float] = Field(default_factory=dict)
    weights_sha256: str = ""
    dataset_sha256: str = ""
    frames: int = 0
    seed: int = 0
    command: str = ""
    metrics: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="validation precision/recall/F1 per label"
    )
    width: int = 16


class LabelerWeightsError(ConfigError):
    """Embedded labeler weights are missing, altered or do not fit their card."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"embedded labeler weights {path}: {reason}; rebuild them with "
            "`robotops labels train-embedded` or reinstall robotops"
        )


def bundled_dir() -> Path:
    """Where the embedded labeler's shipped weights are installed."""
    return Path(str(resources.files("robotops.policies").joinpath("labeler_weights")))


def bundled_weights(version: str = DEFAULT_VERSION) -> Path:
    """The weights file of an embedded labeler shipped with robotops."""
    path = bundled_dir() / f"{version}.pt"
    if not path.is_file():
        known = sorted(p.stem for p in bundled_dir().glob("*.pt"))
        raise NotFoundError("embedded labeler", version, known)
    return path


def save_labeler(net: LabelNet, card: LabelerCard, directory: Path) -> Path:
    """Write weights and card; the card's hash is filled from the bytes actually written."""
    directory.mkdir(parents=True, exist_ok=True)
    weights = directory / f"{card.version}.pt"
    torch.save(net.state_dict(), weights)
    card.weights_sha256 = sha256_file(weights)
    weights.with_suffix(".json").write_text(card.model_dump_json(indent=2) + "\n")
    return weights


def load_card(weights: Path) -> LabelerCard:
    """The card (version, labels, training record) beside a labeler weights file."""
    path = weights.with_suffix(".json")
    if not path.is_file():
        raise LabelerWeightsError(weights, f"its card {path.name} is missing")
    return LabelerCard.model_validate_json(path.read_text())


def load_labeler(weights: Path) -> tuple[LabelNet, LabelerCard]:
    """The classifier and its card, in eval mode, refusing weights that are not the recorded
    bytes or do not fit the card."""
    if not weights.is_file():
        raise LabelerWeightsError(weights, "no such file")
    card = load_card(weights)
    actual = sha256_file(weights)
    if card.weights_sha256 and actual != card.weights_sha256:
        raise LabelerWeightsError(
            weights, f"sha256 {actual[:12]} is not the recorded {card.weights_sha256[:12]}"
        )
    net = LabelNet(len(card.labels), width=card.width)
    try:
        net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    except (RuntimeError, KeyError, ValueError) as exc:
        raise LabelerWeightsError(weights, f"does not fit its card ({exc})") from exc
    return net.eval(), card
