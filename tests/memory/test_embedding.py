"""The MiniLM embedding: precision, deduplication, the in-process cache, background batches."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import numpy as np
import pytest

from robotops.memory.embedding import BackgroundEmbedder, embed_texts, load_model


@pytest.fixture
def encoded(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text the real model is asked to encode from now on."""
    model = load_model()
    encode = model.encode
    seen: list[str] = []

    def counting(texts: list[str], **kwargs: Any) -> Any:
        seen.extend(texts)
        return encode(texts, **kwargs)

    monkeypatch.setattr(model, "encode", counting)
    return seen


def test_identical_and_recent_texts_are_embedded_once(encoded: list[str]) -> None:
    glare, forklift = (f"{what} {uuid.uuid4().hex}" for what in ("glare", "forklift"))
    vectors = embed_texts([glare, forklift, glare])
    assert encoded == [glare, forklift]
    np.testing.assert_array_equal(vectors[0], vectors[2])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    again = embed_texts([forklift])
    assert encoded == [glare, forklift]  # from the cache
    np.testing.assert_array_equal(again[0], vectors[1])


def test_precision_does_not_change_meaning() -> None:
    texts = [
        "robot 104 in aisle-3 stopped; speed 0.0 m/s; camera saturated 20% of pixels (glare?)",
        "forklift crosses the aisle ahead, robot slows and waits",
    ]
    fast = embed_texts(texts)
    exact = embed_texts(texts, precision="float32")
    assert np.all(np.sum(fast * exact, axis=1) > 0.995)


def test_background_embedder_returns_vectors_in_submission_order() -> None:
    batches: list[list[str]] = []
    workers: set[str] = set()

    def embed(texts: list[str]) -> np.ndarray:
        batches.append(list(texts))
        workers.add(threading.current_thread().name)
        return np.array([[float(t)] for t in texts], np.float32)

    with BackgroundEmbedder(embed, batch_size=2) as embedder:
        embedder.submit(["1", "2", "3"])
        embedder.submit(["4", "5"])
        vectors = embedder.result()
    assert vectors[:, 0].tolist() == [1, 2, 3, 4, 5]
    assert batches == [["1", "2"], ["3", "4"], ["5"]]
    assert workers != {threading.current_thread().name}


def test_background_embedder_reports_failures_and_empty_runs() -> None:
    def broken(texts: list[str]) -> np.ndarray:
        raise RuntimeError("model missing")

    with BackgroundEmbedder(broken) as embedder:
        embedder.submit(["a"])
        with pytest.raises(RuntimeError, match="model missing"):
            embedder.result()
    with BackgroundEmbedder(broken) as embedder:
        assert embedder.result().shape == (0, 384)
