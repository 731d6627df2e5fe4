"""Fixtures shared by the labeling tests: scenes rendered once, a fresh catalog per test, a
tiny CLIP model directory and a fake OpenAI-compatible VLM server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from labeling_fakes import FakeVLM, build_tiny_clip
from labeling_support import make_label_deps, render_scenes

from robotops.sim.fleet.serve import serve_in_thread
from robotops.tools.labeling.run import LabelDeps
from robotops.tools.labeling.vocabulary import load_vocabulary


@pytest.fixture(scope="session")
def scenes() -> dict[str, np.ndarray]:
    return render_scenes()


@pytest.fixture
def deps(tmp_path: Path) -> Iterator[LabelDeps]:
    deps = make_label_deps(tmp_path / "data")
    yield deps
    deps.catalog.close()


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_clip(tmp_path_factory.mktemp("tiny-clip"), load_vocabulary())


@pytest.fixture
def vlm() -> Iterator[tuple[FakeVLM, str]]:
    fake = FakeVLM()
    with serve_in_thread(fake.app) as url:
        yield fake, url
