"""Keep segment descriptions and the vector index in step with the labels that are in force.

The catalog is the source of truth: a segment's description is what ingest wrote, followed by
its labels from versions that are not quarantined, in the vocabulary's words so that search
finds them by meaning ("lens flare", "oil on the floor"). After labeling, and after a
quarantine, the touched segments are re-described and re-indexed from the catalog.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select

from robotops.memory.blobs import BlobStore
from robotops.memory.catalog import Catalog, LogRow, SegmentRow
from robotops.memory.labels import LabelStore, StoredLabel
from robotops.memory.segment_docs import SegmentDoc
from robotops.tools.labeling.vocabulary import Vocabulary

MARKER = "; labeled: "  # everything after it in a description is the labeler's
_CHUNK = 500


class LabelIndex(Protocol):
    """The part of the vector index labeling needs (``robotops.memory.vectors.VectorIndex``)."""

    def add(self, docs: Sequence[SegmentDoc], *, labeler_version: str = "") -> Any: ...


@dataclass
class SyncDeps:
    catalog: Catalog
    store: LabelStore
    blobs: BlobStore | None
    vocabulary: Vocabulary
    index: LabelIndex | None = None


def base_description(description: str) -> str:
    """A description without any labels a labeler added to it."""
    return description.split(MARKER, 1)[0]


def label_phrase(labels: Sequence[StoredLabel], vocabulary: Vocabulary) -> str:
    """The labels in words, strongest first, one per value."""
    best: dict[str, float] = {}
    for label in labels:
        best[label.value] = max(best.get(label.value, 0.0), label.confidence)
    parts = []
    for value, confidence in sorted(best.items(), key=lambda kv: (-kv[1], kv[0])):
        entry = vocabulary.get(value)
        words = entry.text if entry else value.replace("_", " ")
        parts.append(f"{words} ({value} {confidence:.2f})")
    return "; ".join(parts)


def describe(description: str, labels: Sequence[StoredLabel], vocabulary: Vocabulary) -> str:
    """A segment's description with the phrase its labels in force add (the search text)."""
    base = base_description(description)
    return f"{base}{MARKER}{label_phrase(labels, vocabulary)}" if labels else base


def sync_segments(segment_ids: Sequence[str], deps: SyncDeps) -> int:
    """Re-describe ``segment_ids`` from their labels in force and re-index them.

    Returns:
        How many segments' descriptions changed.
    """
    changed = 0
    for start in range(0, len(segment_ids), _CHUNK):
        changed += _sync_chunk(list(segment_ids[start : start + _CHUNK]), deps)
    return changed


def _sync_chunk(ids: list[str], deps: SyncDeps) -> int:
    active = deps.store.active_labels(ids)
    with deps.catalog.session() as session:
        rows = session.execute(
            select(SegmentRow, LogRow.robot_id, LogRow.site)
            .join(LogRow, LogRow.id == SegmentRow.log_id)
            .where(SegmentRow.id.in_(ids))
        ).all()
    texts: dict[str, str] = {}
    docs: dict[str, list[SegmentDoc]] = defaultdict(list)
    for segment, robot_id, site in rows:
        labels = active.get(segment.id, [])
        text = describe(segment.description, labels, deps.vocabulary)
        if text != segment.description:
            texts[segment.id] = text
        version = max(labels, key=lambda lb: lb.created_at).labeler_version if labels else ""
        docs[version].append(_doc(segment, robot_id, site, text, labels, deps.blobs))
    with deps.catalog.transaction() as session:
        deps.store.update_descriptions(session, texts)
    if deps.index is not None:
        for version, group in docs.items():
            deps.index.add(group, labeler_version=version)
    return len(texts)


def _doc(
    segment: SegmentRow,
    robot_id: str,
    site: str,
    text: str,
    labels: Sequence[StoredLabel],
    blobs: BlobStore | None,
) -> SegmentDoc:
    events = [str(e.get("kind", "")) for e in (segment.features or {}).get("events", [])]
    thumb = segment.thumbnail_sha
    return SegmentDoc(
        segment_id=segment.id,
        text=text,
        log_id=segment.log_id,
        robot_id=robot_id,
        site=site,
        start_ns=segment.start_ns,
        end_ns=segment.end_ns,
        events=[e for e in events if e],
        labels=list(dict.fromkeys(label.value for label in labels)),
        thumbnail=str(blobs.path_of(thumb)) if thumb and blobs is not None else None,
    )
