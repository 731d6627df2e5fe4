"""One contract, every backend: embedded, CLIP (tiny local model), OpenAI-compatible (fake)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from labeling_fakes import frames_answer, vlm_settings

from robotops.settings import LabelerSettings
from robotops.tools.labeling.registry import (
    BACKENDS,
    LabelBackend,
    UnknownBackendError,
    create_backend,
)
from robotops.tools.labeling.vocabulary import load_vocabulary

NAMES = ["embedded", "clip", "openai"]


@pytest.fixture
def make(request: pytest.FixtureRequest, clip_dir: Path) -> Callable[[str], LabelBackend]:
    def build(name: str) -> LabelBackend:
        if name == "clip":
            settings = LabelerSettings(clip_model_dir=clip_dir, clip_threshold=0.0)
        elif name == "openai":  # a model that sees what is in the scenes, in scene order
            fake, url = request.getfixturevalue("vlm")
            fake.script = [frames_answer(["glare"], [], ["low_light"], [])] * 2
            settings = vlm_settings(url)
        else:
            settings = LabelerSettings()
        return create_backend(name, settings, load_vocabulary())

    return build


def test_every_built_in_backend_is_registered() -> None:
    assert set(NAMES) <= set(BACKENDS)


def test_an_unknown_backend_lists_the_known_ones() -> None:
    with pytest.raises(UnknownBackendError, match="known: clip, embedded, openai"):
        create_backend("magic", LabelerSettings(), load_vocabulary())


@pytest.mark.parametrize("name", NAMES)
def test_backend_contract(
    name: str, make: Callable[[str], LabelBackend], scenes: dict[str, np.ndarray]
) -> None:
    backend = make(name)
    identity = backend.identity()
    assert identity.backend == name and identity.model
    assert make(name).identity() == identity  # stable: the same config is the same labeler
    assert set(backend.covers()) <= set(backend.vocabulary.names)
    odd = np.random.default_rng(0).integers(0, 255, (200, 300, 3), dtype=np.uint8)
    frames = [scenes["glare"], scenes["plain"], scenes["dark"], odd]
    verdicts = backend.label_frames(frames)
    assert len(verdicts) == len(frames)
    for verdict in verdicts:
        assert verdict.error is None
        assert set(verdict.labels) <= set(backend.covers())
        assert all(0.0 <= c <= 1.0 for c in verdict.labels.values())
    assert backend.label_frames([]) == []


@pytest.mark.parametrize("name", ["embedded", "openai"])
def test_backends_that_see_glare_find_it(
    name: str, make: Callable[[str], LabelBackend], scenes: dict[str, np.ndarray]
) -> None:
    glare, plain, dark = make(name).label_frames([scenes["glare"], scenes["plain"], scenes["dark"]])
    assert "glare" in glare.labels and "glare" not in plain.labels
    assert "low_light" in dark.labels and "low_light" not in plain.labels
