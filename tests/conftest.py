"""Shared test setup: an isolated data dir per test and headless MuJoCo rendering."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

SHARED_LOGS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "logs"
# Helpers tests share (fake LLM servers, tiny logs, stand-ins) import by name from tests/support.
sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test gets its own ROBOTOPS_DATA_DIR and fresh settings."""
    from robotops.settings import get_settings

    monkeypatch.setenv("ROBOTOPS_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
