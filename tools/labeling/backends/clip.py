"""Zero-shot labeling with a CLIP or SigLIP model from a local directory (transformers).

Each label's prompt is scored against the frame. CLIP's similarities only mean something
relative to each other, so a CLIP label is present when its prompt beats a neutral description
of the scene (:data:`NEUTRAL_PROMPT`) with probability at least ``clip_threshold``; SigLIP is
trained with a sigmoid per pair, so its probability is used as it is.

Images are preprocessed here with numpy and torch (resize the short side, centre crop,
normalise with the model's mean and std from ``preprocessor_config.json``, CLIP's when absent):
transformers' image processors need torchvision, which robotops does not install. Nothing is
ever fetched from the hub: the directory must hold the model and its tokenizer.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from robotops.settings import LabelerSettings
from robotops.tools.labeling.models import BackendIdentity, FrameVerdict
from robotops.tools.labeling.registry import LabelBackend, LabelerConfigError, register
from robotops.tools.labeling.vocabulary import Vocabulary

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
NEUTRAL_PROMPT = "an ordinary, clear photo of a warehouse aisle"
SUPPORTED = ("clip", "siglip")
_FIX = (
    "set ROBOTOPS_LABELER__CLIP_MODEL_DIR to a local directory saved with transformers' "
    "save_pretrained (config.json, weights and tokenizer files) of a CLIP or SigLIP model"
)


def _model_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith("."))


def directory_sha256(directory: Path) -> str:
    """Hash of every file's name and content in a model directory."""
    digest = hashlib.sha256()
    for path in _model_files(directory):
        digest.update(path.name.encode() + b"\0")
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


class Preprocess:
    """Resize the short side, centre crop, normalise: CLIP's recipe, from the model's config."""

    def __init__(self, directory: Path, image_size: int) -> None:
        path = directory / "preprocessor_config.json"
        cfg: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
        size = cfg.get("size", image_size)
        crop = cfg.get("crop_size", image_size)
        if isinstance(size, dict):
            size = size.get("shortest_edge", size.get("height", image_size))
        if isinstance(crop, dict):
            crop = crop.get("height", image_size)
        self.short, self.crop = int(size), int(crop)
        if cfg.get("do_center_crop") is False:
            self.crop = self.short
        self.mean = np.asarray(cfg.get("image_mean", CLIP_MEAN), np.float32)
        self.std = np.asarray(cfg.get("image_std", CLIP_STD), np.float32)

    def __call__(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        out = np.empty((len(frames), 3, self.crop, self.crop), np.float32)
        for i, frame in enumerate(frames):
            image = Image.fromarray(frame)
            w, h = image.size
            scale = self.short / min(w, h)
            image = image.resize(
                (max(self.crop, round(w * scale)), max(self.crop, round(h * scale))),
                Image.Resampling.BICUBIC,
            )
            left = (image.size[0] - self.crop) // 2
            top = (image.size[1] - self.crop) // 2
            image = image.crop((left, top, left + self.crop, top + self.crop))
            pixels = np.asarray(image, np.float32) / 255.0
            out[i] = ((pixels - self.mean) / self.std).transpose(2, 0, 1)
        return out


def _pooled(output: Any) -> Any:
    """transformers 4 returns the projected features; 5 returns an output with them pooled."""
    return getattr(output, "pooler_output", output)


@register
class ClipBackend(LabelBackend):
    """CLIP or SigLIP zero-shot scoring of every vocabulary prompt."""

    name = "clip"

    def __init__(self, settings: LabelerSettings, vocabulary: Vocabulary) -> None:
        super().__init__(settings, vocabulary)
        directory = settings.clip_model_dir
        if directory is None:
            raise LabelerConfigError(self.name, "no model directory is set", _FIX)
        self.directory = Path(directory).expanduser()
        config = self.directory / "config.json"
        if not config.is_file():
            what = "does not exist" if not self.directory.exists() else "has no config.json"
            raise LabelerConfigError(self.name, f"model directory {self.directory} {what}", _FIX)
        try:
            self.model_type = str(json.loads(config.read_text()).get("model_type", ""))
        except (OSError, ValueError) as exc:
            raise LabelerConfigError(
                self.name, f"{config} is not valid JSON ({exc})", _FIX
            ) from exc
        if self.model_type not in SUPPORTED:
            raise LabelerConfigError(
                self.name,
                f"{self.directory} holds a {self.model_type or 'unknown'!r} model, "
                f"not one of {', '.join(SUPPORTED)}",
                _FIX,
            )
        self._sha: str | None = None
        self._model: Any = None

    def identity(self) -> BackendIdentity:
        if self._sha is None:
            self._sha = directory_sha256(self.directory)
        return BackendIdentity(backend=self.name, model=f"sha256:{self._sha}")

    def load(self) -> None:
        if self._model is not None:
            return
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        try:
            model = AutoModel.from_pretrained(self.directory, local_files_only=True).eval()
            tokenizer = AutoTokenizer.from_pretrained(self.directory, local_files_only=True)
            prompts = [label.prompt for label in self.vocabulary.labels] + [NEUTRAL_PROMPT]
            padding = "max_length" if self.model_type == "siglip" else True
            tokens = tokenizer(prompts, padding=padding, truncation=True, return_tensors="pt")
            with torch.inference_mode():
                text = _pooled(model.get_text_features(**tokens))
        except Exception as exc:  # noqa: BLE001 - safetensors, tokenizers, torch: any of them
            raise LabelerConfigError(
                self.name,
                f"cannot load the model in {self.directory} ({type(exc).__name__}: {exc})",
                _FIX,
            ) from exc
        self._text = torch.nn.functional.normalize(text, dim=-1)
        self._preprocess = Preprocess(self.directory, int(model.config.vision_config.image_size))
        self._model = model

    def _probabilities(self, pixels: np.ndarray) -> np.ndarray:
        """(N, labels) probability that each label's prompt describes each image."""
        import torch

        model = self._model
        with torch.inference_mode():
            image = _pooled(model.get_image_features(pixel_values=torch.from_numpy(pixels)))
            image = torch.nn.functional.normalize(image, dim=-1)
            logits = model.logit_scale.exp() * image @ self._text.T
            if self.model_type == "siglip":
                return torch.sigmoid(logits[:, :-1] + model.logit_bias).numpy()
            pair = torch.stack([logits[:, :-1], logits[:, -1:].expand_as(logits[:, :-1])], -1)
            return torch.softmax(pair, dim=-1)[..., 0].numpy()

    def label_frames(self, frames: Sequence[np.ndarray]) -> list[FrameVerdict]:
        self.load()
        threshold = self.settings.clip_threshold
        names = self.vocabulary.names
        out: list[FrameVerdict] = []
        step = self.settings.batch_size
        for start in range(0, len(frames), step):
            prob = self._probabilities(self._preprocess(frames[start : start + step]))
            out += [
                FrameVerdict(
                    labels={
                        n: round(float(p), 4)
                        for n, p in zip(names, row, strict=True)
                        if p >= threshold
                    }
                )
                for row in prob
            ]
        return out
