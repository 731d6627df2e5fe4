"""Labeler backends by name: the contract they share and the registry settings pick from.

A backend judges frames against a vocabulary and says who it is (backend and model), which,
with the vocabulary's hash and the sampling settings, makes the labeler version every label
records. Backends register themselves with :func:`register`; :func:`create_backend` builds the
one a name asks for, and an unknown name fails listing the known ones.

Construction must be cheap and check the configuration (a missing model directory, an endpoint
without a model name) so that a run fails before any work with one clear message; heavy loading
happens in :meth:`LabelBackend.load`, once per process.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from robotops.errors import ConfigError, RobotOpsError
from robotops.settings import LabelerSettings
from robotops.tools.labeling.models import BackendIdentity, FrameVerdict
from robotops.tools.labeling.vocabulary import Vocabulary


class LabelerConfigError(ConfigError):
    """A labeler backend is misconfigured (missing model, incompatible model, bad endpoint)."""

    def __init__(self, backend: str, problem: str, fix: str) -> None:
        self.backend = backend
        super().__init__(f"{backend} labeler: {problem}; {fix}")


class UnknownBackendError(ConfigError):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"unknown labeler backend {name!r}; known: {', '.join(sorted(BACKENDS))} "
            "(set ROBOTOPS_LABELER__BACKEND or pass --backend)"
        )


class FrameError(RobotOpsError):
    """One frame or one batch could not be judged; recorded on the segment, the run goes on."""


class LabelBackend(ABC):
    """Judges frames (RGB uint8 arrays of any size) against a vocabulary."""

    name: ClassVar[str]
    min_segments_per_worker: ClassVar[int] = 20
    """A worker process costs seconds to start (imports, model load): below this many pending
    segments per worker, fewer workers (or the calling process alone) do the work."""

    def __init__(self, settings: LabelerSettings, vocabulary: Vocabulary) -> None:
        self.settings = settings
        self.vocabulary = vocabulary

    @abstractmethod
    def identity(self) -> BackendIdentity:
        """Backend and model: a weights hash for local models, endpoint and name for remote."""

    def covers(self) -> list[str]:
        """The vocabulary labels this backend can judge (all of them unless it says less)."""
        return self.vocabulary.names

    def load(self) -> None:  # noqa: B027 - optional hook
        """Load models or open clients; called once per process before the first frames."""

    @abstractmethod
    def label_frames(self, frames: Sequence[np.ndarray]) -> list[FrameVerdict]:
        """One verdict per frame, in order. A problem with one frame or one call goes into
        that verdict's ``error``; only a misconfiguration raises (:class:`LabelerConfigError`).
        """


BACKENDS: dict[str, type[LabelBackend]] = {}


def register(cls: type[LabelBackend]) -> type[LabelBackend]:
    """Class decorator: make a backend available under its ``name``."""
    BACKENDS[cls.name] = cls
    return cls


def create_backend(name: str, settings: LabelerSettings, vocabulary: Vocabulary) -> LabelBackend:
    """The backend registered as ``name``, checked against its configuration.

    Raises:
        UnknownBackendError: no backend has that name.
        LabelerConfigError: the backend's settings are missing or wrong.
    """
    cls = BACKENDS.get(name)
    if cls is None:
        raise UnknownBackendError(name)
    return cls(settings, vocabulary)


# The built-in backends register themselves on import (each imports its heavy libraries lazily).
from robotops.tools.labeling.backends import clip, embedded, openai_vlm  # noqa: E402,F401
