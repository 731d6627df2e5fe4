"""The embedded labeler: image statistics plus a small classifier trained on simulated frames.

Needs no download and no network: its weights ship with robotops (a few hundred KB, made by
``robotops labels train-embedded``). It judges only the labels it was trained on; labels a user
adds to the vocabulary need the ``clip`` or ``openai`` backend.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from robotops.settings import LabelerSettings
from robotops.tools.labeling.models import BackendIdentity, FrameVerdict
from robotops.tools.labeling.registry import LabelBackend, register
from robotops.tools.labeling.vocabulary import Vocabulary
from robotops.tools.labeling.weights import (
    LabelerWeightsError,
    bundled_weights,
    load_card,
    load_labeler,
)

_BATCH = 256  # frames per forward pass; bounded so that memory stays flat


@register
class EmbeddedBackend(LabelBackend):
    """Statistics and a CNN over frames resized to the simulated camera's 128 x 96."""

    name = "embedded"
    min_segments_per_worker = 3000  # ~10 s of work at ~300 segments/s: worth a 2-3 s spawn

    def __init__(self, settings: LabelerSettings, vocabulary: Vocabulary) -> None:
        super().__init__(settings, vocabulary)
        self.weights = settings.embedded_weights or bundled_weights()
        if not self.weights.is_file():
            raise LabelerWeightsError(self.weights, "no such file")
        self.card = load_card(self.weights)
        self._net = None

    def identity(self) -> BackendIdentity:
        return BackendIdentity(backend=self.name, model=f"sha256:{self.card.weights_sha256}")

    def covers(self) -> list[str]:
        return [n for n in self.vocabulary.names if n in self.card.labels]

    def load(self) -> None:
        if self._net is None:
            self._net, self.card = load_labeler(self.weights)

    def label_frames(self, frames: Sequence[np.ndarray]) -> list[FrameVerdict]:
        import torch

        from robotops.tools.labeling.classifier import prepare_any

        self.load()
        assert self._net is not None
        covered = set(self.covers())
        wanted = [(j, n) for j, n in enumerate(self.card.labels) if n in covered]
        thresholds = self._net.thresholds.numpy()
        out: list[FrameVerdict] = []
        for start in range(0, len(frames), _BATCH):
            images, stats = prepare_any(list(frames[start : start + _BATCH]))
            with torch.inference_mode():
                prob = self._net.probabilities(images, stats).numpy()
            out += [
                FrameVerdict(
                    labels={n: round(float(p[j]), 4) for j, n in wanted if p[j] >= thresholds[j]}
                )
                for p in prob
            ]
        return out
