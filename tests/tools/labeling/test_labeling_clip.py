"""The CLIP backend: a local model directory, loaded the way users load theirs; bad ones fail
with a message that says how to fix them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from robotops.settings import LabelerSettings
from robotops.tools.labeling.backends.clip import ClipBackend, Preprocess
from robotops.tools.labeling.registry import LabelerConfigError, create_backend
from robotops.tools.labeling.vocabulary import load_vocabulary


def test_tiny_clip_scores_every_prompt(clip_dir: Path, scenes: dict[str, np.ndarray]) -> None:
    settings = LabelerSettings(clip_model_dir=clip_dir, clip_threshold=0.0, batch_size=2)
    backend = create_backend("clip", settings, load_vocabulary())
    assert backend.identity().model.startswith("sha256:")
    verdicts = backend.label_frames([scenes["glare"], scenes["plain"], scenes["dark"]])
    # threshold 0: every label is reported with its probability against the neutral prompt
    assert all(set(v.labels) == set(load_vocabulary().names) for v in verdicts)
    assert verdicts[0].labels != verdicts[1].labels  # the images do matter


def test_preprocessing_resizes_crops_and_normalises(clip_dir: Path) -> None:
    prep = Preprocess(clip_dir, image_size=32)
    white = np.full((96, 128, 3), 255, np.uint8)
    out = prep([white, np.zeros((40, 20, 3), np.uint8)])
    assert out.shape == (2, 3, 32, 32) and out.dtype == np.float32
    np.testing.assert_allclose(out[0, :, 0, 0], (1 - np.array(prep.mean)) / prep.std, rtol=1e-5)


def test_missing_model_directory_says_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(LabelerConfigError, match="ROBOTOPS_LABELER__CLIP_MODEL_DIR"):
        create_backend("clip", LabelerSettings(), load_vocabulary())
    with pytest.raises(LabelerConfigError, match="does not exist"):
        create_backend("clip", LabelerSettings(clip_model_dir=tmp_path / "nope"), load_vocabulary())
    with pytest.raises(LabelerConfigError, match="has no config.json"):
        create_backend("clip", LabelerSettings(clip_model_dir=tmp_path), load_vocabulary())


def test_incompatible_model_directory_is_refused(tmp_path: Path, clip_dir: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(LabelerConfigError, match="'bert' model, not one of clip, siglip"):
        create_backend("clip", LabelerSettings(clip_model_dir=tmp_path), load_vocabulary())
    broken = tmp_path / "broken"
    shutil.copytree(clip_dir, broken)
    (broken / "model.safetensors").write_bytes(b"not weights")
    backend = ClipBackend(LabelerSettings(clip_model_dir=broken), load_vocabulary())
    with pytest.raises(LabelerConfigError, match="cannot load the model"):
        backend.load()
