"""What an approval request's evidence says, arranged for a person to judge it.

Evidence is a free-form dict written by whoever asked (the judge's verdict, metric deltas with
their intervals, frames and plots of the worst runs, hashes of what was built). This finds those
parts wherever they sit in the dict, and keeps the rest for a raw view.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")
SHA_RE = re.compile(r"^[0-9a-f]{64}$")


class DeltaRow(BaseModel):
    """One metric, candidate against incumbent, with its interval when there is one."""

    metric: str
    candidate: float | None = None
    incumbent: float | None = None
    delta: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    outcome: str = ""
    better: str = ""
    source: str = Field("", description="where in the evidence, e.g. 'verdict.golden'")


class EvidenceImage(BaseModel):
    label: str
    path: str


class EvidenceView(BaseModel):
    verdict: str | None = None
    reasons: list[str] = Field(default_factory=list)
    deltas: list[DeltaRow] = Field(default_factory=list)
    images: list[EvidenceImage] = Field(default_factory=list)
    hashes: list[tuple[str, str]] = Field(default_factory=list, description="(where, sha256)")
    raw: dict[str, Any] = Field(default_factory=dict)


def evidence_view(evidence: dict[str, Any], data_dir: Path) -> EvidenceView:
    """Collect the verdict, deltas, images under ``data_dir`` and hashes from ``evidence``."""
    view = EvidenceView(raw=evidence)
    for where, value in _walk(evidence, ""):
        key = where.rsplit(".", 1)[-1]
        if isinstance(value, dict) and "metric" in value and "delta" in value:
            row = DeltaRow.model_validate(_delta_fields(value))
            view.deltas.append(row.model_copy(update={"source": where.rsplit("[", 1)[0]}))
        elif isinstance(value, dict) and isinstance(value.get("verdict"), str):
            view.verdict = view.verdict or value["verdict"]
            view.reasons += [str(r) for r in value.get("reasons", [])]
        elif key == "verdict" and isinstance(value, str):
            view.verdict = view.verdict or value
        elif isinstance(value, str) and value.lower().endswith(IMAGE_SUFFIXES):
            if _under(value, data_dir):
                view.images.append(EvidenceImage(label=where, path=value))
        elif isinstance(value, str) and SHA_RE.match(value):
            view.hashes.append((where, value))
    return view


def _walk(value: Any, where: str):
    """Every (dotted path, value) pair, parents before children."""
    yield where, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, f"{where}.{k}" if where else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, f"{where}[{i}]")


def _delta_fields(value: dict[str, Any]) -> dict[str, Any]:
    fields = {k: value.get(k) for k in DeltaRow.model_fields if k in value}
    if "ci" in value and isinstance(value["ci"], list | tuple) and len(value["ci"]) == 2:
        fields["ci_low"], fields["ci_high"] = value["ci"]
    fields["outcome"] = str(fields.get("outcome") or "")
    fields["better"] = str(fields.get("better") or "")
    return fields


def resolve_under(path: str | Path, data_dir: Path) -> Path | None:
    """``path`` (absolute, or relative to ``data_dir``) if it is a file inside ``data_dir``."""
    root = Path(data_dir).resolve()
    candidate = Path(path)
    full = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if full.is_file() and full.is_relative_to(root):
        return full
    return None


def _under(path: str, data_dir: Path) -> bool:
    return resolve_under(path, data_dir) is not None
