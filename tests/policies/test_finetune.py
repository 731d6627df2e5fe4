"""Fine-tuning: seeded and deterministic, checkpointed every epoch, resumed after a kill to the
same weights, early-stopped, and never overwriting a version with other weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robotops.errors import InvalidRequestError
from robotops.policies.finetune import FinetuneConfig, finetune, resolve_weights
from robotops.policies.registry import bundled_policy, load_policy
from robotops.sim.world.specs import GlareHazard, ShadowHazard, WorldSpec
from robotops.tools.datasets.frames import FrameSet
from robotops.tools.datasets.simframes import render_sim_frames

WORLDS = [
    WorldSpec(aisle=0, hazards=[GlareHazard(x=2.0, intensity=1.5)]),
    WorldSpec(aisle=1, hazards=[ShadowHazard(x=-3.0, width=2.0, contrast=0.9)]),
]
DATASET = "d" * 64


@pytest.fixture(scope="module")
def frames() -> FrameSet:
    pixels, targets, _ = render_sim_frames(WORLDS, 64, seed=11)
    val = np.zeros(len(targets), bool)
    val[::4] = True
    return FrameSet(pixels, targets, val)


class Killed(Exception):
    pass


def kill_after(epoch: int):
    def progress(done: int, _train: float, _val: float) -> None:
        if done == epoch:
            raise Killed

    return progress


def test_resume_after_a_kill_gives_the_same_weights(frames, tmp_path):
    config = FinetuneConfig(epochs=4, patience=10, batch_size=16, seed=1)
    parent = bundled_policy("v1")
    whole = finetune(frames, DATASET, parent, "v2", tmp_path / "a", config)
    assert not whole.resumed and whole.report.epochs_run == 4
    with pytest.raises(Killed):
        finetune(frames, DATASET, parent, "v2", tmp_path / "b", config, kill_after(2))
    assert sorted(p.name for p in Path(whole.checkpoint_dir.replace("/a/", "/b/")).iterdir()) == [
        "epoch-0002.pt"
    ]
    resumed = finetune(frames, DATASET, parent, "v2", tmp_path / "b", config)
    assert resumed.resumed
    assert resumed.state_sha256 == whole.state_sha256
    assert resumed.card.weights_sha256 == whole.card.weights_sha256
    perception, card = load_policy(Path(resumed.weights_path))
    assert card.parent == "v1" and card.dataset_sha256 == DATASET and perception.version == "v2"
    assert resolve_weights("v2", tmp_path / "b") == Path(resumed.weights_path)


def test_fine_tuning_moves_off_the_parent_and_is_seeded(frames, tmp_path):
    config = FinetuneConfig(epochs=2, batch_size=16, seed=2)
    a = finetune(frames, DATASET, bundled_policy("v1"), "v2", tmp_path / "a", config)
    b = finetune(frames, DATASET, bundled_policy("v1"), "v2", tmp_path / "b", config)
    c = finetune(
        frames,
        DATASET,
        bundled_policy("v1"),
        "v2",
        tmp_path / "c",
        config.model_copy(update={"seed": 3}),
    )
    assert a.state_sha256 == b.state_sha256 != c.state_sha256
    v1, _ = load_policy(bundled_policy("v1"))
    from robotops.policies.training import state_sha256

    assert a.state_sha256 != state_sha256(v1.net)


def test_early_stopping_on_validation_loss(frames, tmp_path):
    config = FinetuneConfig(epochs=30, patience=1, lr=0.5, batch_size=16)
    result = finetune(frames, DATASET, bundled_policy("v1"), "v2", tmp_path, config)
    assert result.report.epochs_run < 30


def test_a_version_is_never_overwritten_with_other_weights(frames, tmp_path):
    config = FinetuneConfig(epochs=1, batch_size=16)
    finetune(frames, DATASET, bundled_policy("v1"), "v2", tmp_path, config)
    again = finetune(frames, DATASET, bundled_policy("v1"), "v2", tmp_path, config)
    assert again.resumed  # same command: the finished run's checkpoint, the same weights
    with pytest.raises(InvalidRequestError, match="already exists"):
        finetune(
            frames,
            DATASET,
            bundled_policy("v1"),
            "v2",
            tmp_path,
            config.model_copy(update={"seed": 9}),
        )


def test_a_split_without_validation_is_refused(frames, tmp_path):
    no_val = FrameSet(frames.frames, frames.targets, np.zeros(len(frames.targets), bool))
    with pytest.raises(InvalidRequestError, match="validation"):
        finetune(no_val, DATASET, bundled_policy("v1"), "v2", tmp_path)


def test_stop_probability_is_calibrated_on_validation_recall(frames, tmp_path):
    config = FinetuneConfig(epochs=1, batch_size=16, target_recall=1.0, min_stop_probability=0.2)
    result = finetune(frames, DATASET, bundled_policy("v1"), "v2", tmp_path, config)
    stop = result.card.controller.stop_probability
    assert 0.2 <= stop <= 0.5 and result.card.metrics["stop_probability"] == stop
    assert 0.0 <= result.card.metrics["val_recall"] <= 1.0


def test_perception_eval_scores_both_policies_on_the_same_frames():
    from robotops.evals.perception import evaluate_perception

    v1 = bundled_policy("v1")
    result = evaluate_perception(v1, v1, WORLDS, n_frames=24, seed=77)
    assert result.frames == 24 and result.glare_frames + result.shadow_frames > 0
    assert result.baseline.model_dump() == result.candidate.model_dump()
    assert result.phantom_reduction in (None, 0.0) and not result.goals_met
    for rate in (result.baseline.phantom_rate, result.baseline.recall):
        assert rate is None or 0.0 <= rate <= 1.0
