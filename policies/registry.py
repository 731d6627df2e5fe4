"""Policy versions as files: weights plus a JSON card saying what they were made from.

The registry here is the minimum the fleet needs (load a version by name, verify its hash);
lineage queries over the catalog build on the same cards.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from pydantic import BaseModel, Field

from robotops.errors import LogFormatError, NotFoundError
from robotops.memory.blobs import hash_file
from robotops.policies.controller import ControllerConfig
from robotops.policies.perception import Perception, PerceptionNet

BUNDLED_DIR = Path(__file__).parent / "weights"


class PolicyCard(BaseModel):
    """What a policy version is and what it was made from."""

    version: str
    parent: str | None = None
    weights_sha256: str
    dataset_sha256: str | None = None
    command: str = ""
    seed: int | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    controller: ControllerConfig = ControllerConfig()


sha256_file = hash_file  # the registry's name for it: one implementation, memory.blobs


def card_path(weights: Path) -> Path:
    return weights.with_suffix(".json")


def save_policy(net: PerceptionNet, card: PolicyCard, directory: Path) -> Path:
    """Write weights and card; the card's hash is filled from the bytes actually written."""
    directory.mkdir(parents=True, exist_ok=True)
    weights = directory / f"{card.version}.pt"
    torch.save(net.state_dict(), weights)
    card.weights_sha256 = sha256_file(weights)
    card_path(weights).write_text(card.model_dump_json(indent=2) + "\n")
    return weights


def load_card(weights: Path) -> PolicyCard:
    return PolicyCard.model_validate_json(card_path(weights).read_text())


def load_policy(weights: Path, expected_sha256: str | None = None) -> tuple[Perception, PolicyCard]:
    """Load a policy, refusing weights whose bytes are not the ones recorded."""
    if not weights.is_file():
        raise NotFoundError("policy weights", str(weights))
    card = load_card(weights)
    actual = sha256_file(weights)
    for want in filter(None, (card.weights_sha256, expected_sha256)):
        if actual != want:
            raise LogFormatError(
                str(weights), f"weights hash {actual[:12]} != recorded {want[:12]}"
            )
    net = PerceptionNet()
    net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return Perception(net, card.version), card


def bundled_policy(version: str = "v1") -> Path:
    """Path of a policy shipped with the package (the baseline)."""
    path = BUNDLED_DIR / f"{version}.pt"
    if not path.is_file():
        known = sorted(p.stem for p in BUNDLED_DIR.glob("*.pt"))
        raise NotFoundError("bundled policy", version, known)
    return path


def card_json(card: PolicyCard) -> dict:
    return json.loads(card.model_dump_json())
