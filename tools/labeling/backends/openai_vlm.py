"""Labeling with any OpenAI-compatible vision chat endpoint (OpenAI, vLLM, Ollama, llama.cpp).

Frames go in batches of ``batch_size`` images per request, each as a JPEG data URL, with the
vocabulary's prompts in the instructions; the answer is constrained by a JSON schema
(structured output) and parsed into pydantic. Rate limits (429), server errors (5xx), timeouts
and dropped connections are retried with exponential backoff (tenacity); when retries run out,
or the answer is not the JSON asked for, the frames of that request get a per-item error and
the run goes on. An endpoint that refuses the credentials or does not know the model is a
misconfiguration: the run stops with one clear message.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from robotops.settings import LabelerSettings
from robotops.tools.labeling.models import BackendIdentity, FrameVerdict
from robotops.tools.labeling.registry import LabelBackend, LabelerConfigError, register
from robotops.tools.labeling.vocabulary import Vocabulary
from robotops.tools.openai_retry import EndpointFailed, EndpointRefused, first_choice

MAX_SIDE = 512  # pixels; larger frames are downscaled before upload
MIN_CONFIDENCE = 0.5
_FIX = (
    "set ROBOTOPS_LABELER__OPENAI_BASE_URL (e.g. http://localhost:8000/v1), "
    "ROBOTOPS_LABELER__OPENAI_MODEL (a vision model it serves) and, if the endpoint needs "
    "one, ROBOTOPS_LABELER__OPENAI_API_KEY"
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LabelAnswer(_Strict):
    name: str
    confidence: float = Field(ge=0.0, le=1.0)


class FrameAnswer(_Strict):
    index: int
    labels: list[LabelAnswer]


class BatchAnswer(_Strict):
    """The structured answer the model must give for one request."""

    frames: list[FrameAnswer]


def _label_key(frame: FrameAnswer) -> tuple[tuple[str, float], ...]:
    return tuple(sorted((label.name, label.confidence) for label in frame.labels))


def _kept_labels(frame: FrameAnswer, known: set[str]) -> dict[str, float]:
    """Vocabulary labels at or above MIN_CONFIDENCE; a name given twice keeps its highest."""
    labels: dict[str, float] = {}
    for label in frame.labels:
        if label.name in known and label.confidence >= MIN_CONFIDENCE:
            labels[label.name] = max(labels.get(label.name, 0.0), label.confidence)
    return labels


def answer_schema(names: list[str]) -> dict[str, Any]:
    """The JSON schema of :class:`BatchAnswer` with label names restricted to ``names``."""
    label = {
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "confidence"],
        "properties": {
            "name": {"type": "string", "enum": names},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        },
    }
    frame = {
        "type": "object",
        "additionalProperties": False,
        "required": ["index", "labels"],
        "properties": {"index": {"type": "integer"}, "labels": {"type": "array", "items": label}},
    }
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["frames"],
        "properties": {"frames": {"type": "array", "items": frame}},
    }


def data_url(frame: np.ndarray) -> str:
    """A frame as a JPEG ``data:`` URL for a vision model (downscaled to ``MAX_SIDE``)."""
    image = Image.fromarray(frame)
    if max(image.size) > MAX_SIDE:
        image.thumbnail((MAX_SIDE, MAX_SIDE))
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def _instructions(vocabulary: Vocabulary) -> str:
    lines = "\n".join(f"- {label.name}: {label.prompt}" for label in vocabulary.labels)
    return (
        "You label frames from a warehouse robot's camera. For each image, list the labels "
        "below that are clearly present, each with your confidence from 0 to 1; list none "
        f"if none apply.\n{lines}\nAnswer only with JSON matching the schema: one entry "
        "per image, with the image's index."
    )


@register
class OpenAIBackend(LabelBackend):
    """A vision chat model behind an OpenAI-compatible API, with structured output."""

    name = "openai"

    def __init__(self, settings: LabelerSettings, vocabulary: Vocabulary) -> None:
        super().__init__(settings, vocabulary)
        missing = [
            n
            for n, v in (("base URL", settings.openai_base_url), ("model", settings.openai_model))
            if not v
        ]
        if missing:
            raise LabelerConfigError(self.name, f"no endpoint {' and no '.join(missing)} set", _FIX)
        self.base_url = str(settings.openai_base_url).rstrip("/")
        self.model = str(settings.openai_model)
        self._client: Any = None

    def identity(self) -> BackendIdentity:
        return BackendIdentity(backend=self.name, model=f"{self.base_url} {self.model}")

    def load(self) -> None:
        if self._client is None:
            from openai import OpenAI

            key = self.settings.openai_api_key
            self._client = OpenAI(
                base_url=self.base_url,
                api_key=key.get_secret_value() if key else "not-needed",
                timeout=self.settings.openai_timeout_s,
                max_retries=0,
            )

    def label_frames(self, frames: Sequence[np.ndarray]) -> list[FrameVerdict]:
        self.load()
        out: list[FrameVerdict] = []
        step = self.settings.batch_size
        for start in range(0, len(frames), step):
            out += self._batch(frames[start : start + step])
        return out

    def _batch(self, frames: Sequence[np.ndarray]) -> list[FrameVerdict]:
        try:
            content = self._ask(frames)
        except _RequestFailed as exc:
            return [FrameVerdict(error=str(exc)) for _ in frames]
        try:
            answer = BatchAnswer.model_validate_json(content or "")
        except ValidationError as exc:
            snippet = (content or "")[:80].replace("\n", " ")
            why = f"{exc.error_count()} problem(s): {exc.errors()[0]['msg']}"
            error = f"{self.base_url} returned malformed JSON for {self.model} ({why}): {snippet!r}"
            return [FrameVerdict(error=error) for _ in frames]
        return self._verdicts(answer, len(frames))

    def _verdicts(self, answer: BatchAnswer, n: int) -> list[FrameVerdict]:
        """One verdict per image sent, matched by index (never by position in the answer).

        A model may disobey the schema: an index it was not sent is ignored, an image it
        answered twice is an error for that image (which answer is right cannot be told),
        names outside the vocabulary and low confidences are dropped.
        """
        known = set(self.vocabulary.names)
        answered: dict[int, list[FrameAnswer]] = {}
        for frame in answer.frames:
            if 0 <= frame.index < n:
                answered.setdefault(frame.index, []).append(frame)
        out = []
        for i in range(n):
            frames = answered.get(i, [])
            if not frames:
                out.append(FrameVerdict(error=f"{self.model} gave no answer for image {i}"))
            elif len(frames) > 1 and len({_label_key(f) for f in frames}) > 1:
                out.append(
                    FrameVerdict(
                        error=f"{self.model} gave {len(frames)} different answers for image {i}"
                    )
                )
            else:
                out.append(FrameVerdict(labels=_kept_labels(frames[0], known)))
        return out

    def _ask(self, frames: Sequence[np.ndarray]) -> str | None:
        """One chat request for ``frames``, retried on 429, 5xx, timeouts and lost connections.

        Raises:
            LabelerConfigError: the endpoint refused the key or does not know the model.
            _RequestFailed: retries ran out, or the endpoint rejected this request.
        """
        try:
            choice = first_choice(
                self._create,
                frames,
                retries=self.settings.retries,
                retry_wait_s=self.settings.retry_wait_s,
                max_wait_s=60,
            )
        except EndpointRefused as exc:
            raise LabelerConfigError(
                self.name,
                f"{self.base_url} refused model {self.model!r} ({exc.status}: {exc.detail})",
                _FIX,
            ) from exc
        except EndpointFailed as exc:
            raise _RequestFailed(f"{self.base_url} {exc.text(with_detail=True)}") from exc
        return choice.message.content

    def _create(self, frames: Sequence[np.ndarray]) -> Any:
        parts: list[dict[str, Any]] = [
            {"type": "text", "text": f"Label these {len(frames)} images."}
        ]
        for i, frame in enumerate(frames):
            parts.append({"type": "text", "text": f"Image {i}:"})
            parts.append({"type": "image_url", "image_url": {"url": data_url(frame)}})
        return self._client.chat.completions.create(
            model=self.model,
            messages=[
                {"role": "system", "content": _instructions(self.vocabulary)},
                {"role": "user", "content": parts},
            ],
            response_format={
                "type": "json_schema",
                "json_schema": {
                    "name": "frame_labels",
                    "strict": True,
                    "schema": answer_schema(self.vocabulary.names),
                },
            },
            temperature=0,
        )


class _RequestFailed(Exception):
    """A request gave up; its frames get the message as their error."""
