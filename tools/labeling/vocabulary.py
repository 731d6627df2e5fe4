"""The label vocabulary: what the auto-labeler may say about a frame, from a YAML file.

The built-in vocabulary ships as ``labels.yaml`` beside this module; users add labels of their
own (a name and a text prompt each) in a file of the same shape. The vocabulary's hash goes into
every labeler version, so changing a prompt makes a new version instead of silently changing
what an old one meant.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from robotops.errors import ConfigError

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


class VocabularyError(ConfigError):
    """A vocabulary file is missing, unreadable or malformed."""

    def __init__(self, path: str, reason: str) -> None:
        self.path, self.reason = path, reason
        super().__init__(f"label vocabulary {path}: {reason}")


class Label(BaseModel):
    """One thing the labeler can find in a frame."""

    name: str = Field(description="stable id: lower case, digits and underscores")
    prompt: str = Field(min_length=3, description="what zero-shot and VLM backends look for")
    title: str = Field("", description="for people; defaults to the name in words")
    text: str = Field("", description="words written into a labeled segment's description")

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        value = value.strip().lower().replace(" ", "_").replace("-", "_")
        if not _NAME_RE.match(value):
            raise ValueError(f"{value!r}: use lower-case letters, digits and underscores")
        return value

    @model_validator(mode="after")
    def _defaults(self) -> Label:
        self.title = self.title or self.name.replace("_", " ")
        self.text = self.text or self.prompt
        return self


class Vocabulary(BaseModel):
    """An ordered set of labels with a content hash."""

    labels: list[Label]

    @model_validator(mode="after")
    def _unique(self) -> Vocabulary:
        names = [label.name for label in self.labels]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"labels defined twice: {', '.join(dupes)}")
        if not names:
            raise ValueError("no labels")
        return self

    @property
    def names(self) -> list[str]:
        return [label.name for label in self.labels]

    def get(self, name: str) -> Label | None:
        return next((label for label in self.labels if label.name == name), None)

    @cached_property
    def sha256(self) -> str:
        """Hash of every label's name, prompt and text, in order."""
        data = [label.model_dump(include={"name", "prompt", "text"}) for label in self.labels]
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _read(path: Path | None) -> tuple[str, dict[str, Any]]:
    if path is None:
        text = resources.files(__package__).joinpath("labels.yaml").read_text()
        return "built-in labels.yaml", yaml.safe_load(text)
    if not path.is_file():
        raise VocabularyError(
            str(path),
            "no such file; set ROBOTOPS_LABELER__VOCABULARY to a "
            "YAML file with a 'labels' list (name and prompt each)",
        )
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise VocabularyError(str(path), f"not readable YAML ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("labels"), list):
        raise VocabularyError(str(path), "expected a mapping with a 'labels' list")
    return str(path), data


def load_vocabulary(extra: Path | None = None) -> Vocabulary:
    """The built-in vocabulary, plus the labels of ``extra`` (a user's YAML file) if given.

    A user label may not reuse a built-in name: that would change what old labels meant.

    Raises:
        VocabularyError: a file is missing or malformed, or a label is invalid or repeated.
    """
    labels: list[Any] = []
    for path in (None, extra) if extra is not None else (None,):
        where, data = _read(path)
        labels.extend(data["labels"])
        try:
            vocabulary = Vocabulary(labels=labels)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
            )
            raise VocabularyError(where, problems) from None
    return vocabulary
