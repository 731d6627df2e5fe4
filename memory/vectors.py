"""The vector index of log segments: one Chroma collection, on disk or on a Chroma server.

Each :class:`SegmentDoc` becomes one record: its id is the segment id (so adding a segment again
replaces it), its document is the description text embedded with MiniLM, and its metadata is the
rest, flattened to the scalars Chroma can store and filter on:

================  =====================================================================
key               value
================  =====================================================================
log_id, robot_id  str
site, thumbnail   str (``thumbnail`` absent when the segment has none)
start_ns, end_ns  int
events, labels    the lists joined as ``",stall,estop,"``, to rebuild the doc
event:<kind>      True, one key per event kind, for exact ``--event`` filters
label:<name>      True, one key per label, for exact ``--label`` filters
labeler:<name>    the labeler version that asserted the label (``""`` if unknown)
by:<version>      True on every segment a labeler version labelled
================  =====================================================================

The per-label version is what lets a bad labeler release be taken back later: search can ignore
its labels (:attr:`SegmentFilter.exclude_labelers`) and :meth:`VectorIndex.drop_labeler` removes
them from every segment it touched, without re-ingesting anything.

The same code serves the embedded default (a ``PersistentClient`` under the data dir) and a
Chroma server (``ROBOTOPS_VECTORS__URL``); only :func:`open_client` tells them apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.collection_configuration import CreateCollectionConfiguration
from chromadb.api.models.Collection import Collection
from chromadb.api.types import Embeddings, Include, Metadata
from chromadb.config import Settings as ChromaSettings
from pydantic import BaseModel, Field

from robotops.errors import ConfigError, RobotOpsError
from robotops.memory.embedding import DIMENSIONS, MiniLMEmbedding
from robotops.memory.segment_docs import SegmentDoc, SegmentHit
from robotops.settings import Settings

_BATCH = 1000
_SEP = ","
_PAGE = 1000
_HNSW = {"ef_search": 200}
"""Over Chroma's defaults: recall@10 0.85 -> 0.96 at 1M segments for the same p50 (benchmark)."""
_PREFETCH = (100, 1_000)
"""How many unfiltered nearest segments to check against a filter, in turn, before Chroma
filters; each is used only when it is at least 4 k."""


_Row = tuple[str, str | None, Mapping[str, Any], float]
"""One search result as Chroma returns it: id, document (None if not fetched), metadata,
distance."""


class VectorIndexUnavailableError(RobotOpsError):
    """The vector store could not be opened or reached."""

    def __init__(self, where: str, reason: object) -> None:
        self.where = where
        super().__init__(
            f"vector index at {where} is unavailable: {reason}; check ROBOTOPS_VECTORS__PATH "
            "or ROBOTOPS_VECTORS__URL (a running Chroma server)"
        )


class SegmentFilter(BaseModel):
    """Which segments a search may return; every field set narrows it (they are ANDed)."""

    robot_id: str | None = None
    site: str | None = None
    since_ns: int | None = Field(None, description="only segments ending at or after this time")
    label: str | None = Field(None, description="only segments carrying this label")
    event: str | None = Field(None, description="only segments containing this event kind")
    exclude_labelers: list[str] = Field(
        default_factory=list, description="labeler versions whose labels the label filter ignores"
    )

    def to_where(self) -> dict[str, Any] | None:
        """The Chroma ``where`` clause, or None when nothing is filtered."""
        clauses: list[dict[str, Any]] = []
        if self.robot_id:
            clauses.append({"robot_id": self.robot_id})
        if self.site:
            clauses.append({"site": self.site})
        if self.since_ns is not None:
            clauses.append({"end_ns": {"$gte": self.since_ns}})
        if self.label:
            name = normalize_tag(self.label)
            clauses.append({f"label:{name}": True})
            if self.exclude_labelers:
                clauses.append({f"labeler:{name}": {"$nin": list(self.exclude_labelers)}})
        if self.event:
            clauses.append({f"event:{normalize_tag(self.event)}": True})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def normalize_tag(tag: str) -> str:
    """Labels and event kinds compare case-blind; a comma would break the joined lists."""
    return " ".join(tag.replace(_SEP, " ").lower().split())


def _join(tags: Sequence[str]) -> str:
    return _SEP + _SEP.join(tags) + _SEP if tags else ""


def _split(joined: object) -> list[str]:
    return [t for t in str(joined or "").split(_SEP) if t]


def to_metadata(doc: SegmentDoc, labeler_version: str = "") -> dict[str, Any]:
    """Flatten a segment into Chroma metadata (see the module docstring for the layout)."""
    events = list(dict.fromkeys(normalize_tag(e) for e in doc.events if e.strip()))
    labels = list(dict.fromkeys(normalize_tag(label) for label in doc.labels if label.strip()))
    meta: dict[str, Any] = {
        "log_id": doc.log_id,
        "robot_id": doc.robot_id,
        "site": doc.site,
        "start_ns": doc.start_ns,
        "end_ns": doc.end_ns,
        "events": _join(events),
        "labels": _join(labels),
    }
    if doc.thumbnail:
        meta["thumbnail"] = doc.thumbnail
    meta.update({f"event:{e}": True for e in events})
    meta.update({f"label:{name}": True for name in labels})
    meta.update({f"labeler:{name}": labeler_version for name in labels})
    if labels:
        meta[f"by:{labeler_version}"] = True
    return meta


def from_record(segment_id: str, text: str | None, meta: Mapping[str, Any]) -> SegmentDoc:
    """Rebuild the segment a record was made from."""
    return SegmentDoc(
        segment_id=segment_id,
        text=text or "",
        log_id=str(meta.get("log_id", "")),
        robot_id=str(meta.get("robot_id", "")),
        site=str(meta.get("site", "")),
        start_ns=int(meta.get("start_ns", 0)),
        end_ns=int(meta.get("end_ns", 0)),
        events=_split(meta.get("events")),
        labels=_split(meta.get("labels")),
        thumbnail=meta.get("thumbnail") or None,
    )


def open_client(settings: Settings) -> ClientAPI:
    """A Chroma server client when ``vectors.url`` is set, else a persistent client on disk.

    Telemetry is off: robotops must not reach the network on its own.
    """
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    url = settings.vectors.url
    try:
        if url:
            parts = urlparse(url)
            https = parts.scheme == "https"
            return chromadb.HttpClient(
                host=parts.hostname or "localhost",
                port=parts.port or (443 if https else 8000),
                ssl=https,
                settings=chroma_settings,
            )
        path = settings.vector_path()
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except (OSError, ValueError, RuntimeError, ConnectionError) as exc:
        raise VectorIndexUnavailableError(url or str(settings.vector_path()), exc) from exc


class VectorIndex:
    """Segments by meaning: add them, search them by text or vector, forget a log's.

    Args:
        client: a Chroma client (see :func:`open_client`).
        collection: the collection name.
        hnsw: HNSW parameters over ``_HNSW`` and Chroma's defaults (``space`` is always
            cosine); used only when the collection is created, ignored when it already exists.
        embedding: the embedding function; the packaged MiniLM by default.
    """

    def __init__(
        self,
        client: ClientAPI,
        collection: str = "segments",
        hnsw: Mapping[str, Any] | None = None,
        embedding: MiniLMEmbedding | None = None,
    ) -> None:
        self.client = client
        self.embedding = embedding or MiniLMEmbedding()
        try:
            self.collection: Collection = client.get_or_create_collection(
                collection,
                configuration=cast(
                    CreateCollectionConfiguration,
                    {"hnsw": {**_HNSW, **(hnsw or {}), "space": "cosine"}},
                ),
                embedding_function=self.embedding,
            )
        except ValueError as exc:
            raise ConfigError(f"vector collection {collection!r}: {exc}") from exc
        self._batch = min(_BATCH, client.get_max_batch_size())

    @classmethod
    def from_settings(cls, settings: Settings) -> VectorIndex:
        """The index the settings name (data dir or server, and collection)."""
        return cls(open_client(settings), settings.vectors.collection)

    def count(self) -> int:
        """How many segments are indexed."""
        return self.collection.count()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of ``texts``, one row each, as :meth:`add` would compute them: embed
        ahead (e.g. while a log is still being read) and pass them to ``add(embeddings=...)``."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.asarray(self.embedding(list(texts)), dtype=np.float32)

    def add(
        self,
        docs: Sequence[SegmentDoc],
        *,
        embeddings: np.ndarray | None = None,
        labeler_version: str = "",
    ) -> int:
        """Index ``docs``, replacing any segment already indexed under the same id.

        Args:
            docs: the segments; a later duplicate id in the list wins.
            embeddings: precomputed unit vectors, one row per doc; embedded from text if None.
            labeler_version: the labeler version the docs' labels came from.

        Returns:
            The number of segments written.
        """
        if embeddings is not None:
            embeddings = np.asarray(embeddings, dtype=np.float32)
            if len(embeddings) != len(docs):
                raise ValueError(f"{len(embeddings)} embeddings for {len(docs)} docs")
        last = {doc.segment_id: i for i, doc in enumerate(docs)}
        order = sorted(last.values())
        for start in range(0, len(order), self._batch):
            rows = order[start : start + self._batch]
            batch = [docs[i] for i in rows]
            texts = [doc.text for doc in batch]
            vectors = embeddings[rows] if embeddings is not None else self.embedding(texts)
            metas = [to_metadata(doc, labeler_version) for doc in batch]
            ids = [doc.segment_id for doc in batch]
            self._clear_stale_keys(ids, metas)
            self.collection.upsert(
                ids=ids,
                embeddings=np.asarray(vectors, dtype=np.float32),
                documents=texts,
                metadatas=cast(list[Metadata], metas),
            )
        return len(order)

    def _clear_stale_keys(self, ids: list[str], metas: list[dict[str, Any]]) -> None:
        """Chroma's upsert merges metadata; set keys the new version lacks to None to drop them."""
        old = self.collection.get(ids=ids, include=["metadatas"])
        new_by_id = dict(zip(ids, metas, strict=True))
        for segment_id, meta in zip(old["ids"], old["metadatas"] or [], strict=True):
            new = new_by_id[segment_id]
            new.update({key: None for key in meta if key not in new})

    def query(
        self, text: str, k: int = 10, filters: SegmentFilter | None = None
    ) -> list[SegmentHit]:
        """The ``k`` segments whose descriptions are closest in meaning to ``text``."""
        vector = self.embedding.embed_query([text])[0]
        return self.query_embedding(np.asarray(vector), k, filters)

    def query_embedding(
        self, vector: np.ndarray, k: int = 10, filters: SegmentFilter | None = None
    ) -> list[SegmentHit]:
        """The ``k`` segments nearest to a unit ``vector``, best first (score = cosine).

        A filtered search first checks the nearest segments in Python, 100 then 1,000 of them:
        Chroma's own filtered search reads the filter's matches out of its metadata store on
        every query (about 0.2 s at a million segments, whatever the filter), while a plain
        search costs milliseconds. Only when too few of those pass does Chroma filter.
        """
        if k < 1:
            return []
        where = filters.to_where() if filters else None
        if where is None:
            return [_hit(*row) for row in self._nearest(vector, k, None)]
        for n in _PREFETCH:
            if n < 4 * k:
                continue
            candidates = self._nearest(vector, n, None, documents=False)
            kept = [row for row in candidates if _passes(where, row[2])][:k]
            if len(kept) == k or len(candidates) < n:
                return self._with_documents(kept)
        return [_hit(*row) for row in self._nearest(vector, k, where)]

    def _nearest(
        self, vector: np.ndarray, k: int, where: dict[str, Any] | None, documents: bool = True
    ) -> list[_Row]:
        include: Include = ["metadatas", "distances"]
        found = self.collection.query(
            query_embeddings=cast(Embeddings, [np.asarray(vector, dtype=np.float32)]),
            n_results=k,
            where=where,
            include=["documents", *include] if documents else include,
        )
        ids = found["ids"][0]
        texts: list[str | None] = list(found["documents"][0]) if found["documents"] else []
        texts += [None] * (len(ids) - len(texts))
        metas = (found["metadatas"] or [[]])[0]
        distances = (found["distances"] or [[]])[0]
        return list(zip(ids, texts, metas, distances, strict=True))

    def _with_documents(self, rows: list[_Row]) -> list[SegmentHit]:
        """Hits for rows fetched without their text: one lookup for the few that are kept."""
        if not rows:
            return []
        found = self.collection.get(ids=[row[0] for row in rows], include=["documents"])
        texts = dict(zip(found["ids"], found["documents"] or [], strict=True))
        return [_hit(segment_id, texts.get(segment_id), meta, d) for segment_id, _, meta, d in rows]

    def get(self, segment_ids: Sequence[str]) -> list[SegmentDoc]:
        """The indexed segments among ``segment_ids`` (unknown ids are skipped)."""
        found = self.collection.get(ids=list(segment_ids), include=["documents", "metadatas"])
        return [
            from_record(segment_id, text, meta)
            for segment_id, text, meta in zip(
                found["ids"], found["documents"] or [], found["metadatas"] or [], strict=True
            )
        ]

    def labels_of(self, segment_id: str) -> dict[str, str]:
        """Each label of a segment with the labeler version that asserted it."""
        found = self.collection.get(ids=[segment_id], include=["metadatas"])
        if not found["ids"]:
            return {}
        meta = (found["metadatas"] or [{}])[0]
        return {name: str(meta.get(f"labeler:{name}", "")) for name in _split(meta.get("labels"))}

    def delete_log(self, log_id: str) -> int:
        """Forget every segment of a log; returns how many there were."""
        where: dict[str, Any] = {"log_id": log_id}
        n = len(self.collection.get(where=where, include=[])["ids"])
        if n:
            self.collection.delete(where=where)
        return n

    def drop_labeler(self, labeler_version: str) -> int:
        """Remove every label asserted by ``labeler_version``; returns how many segments changed.

        Descriptions and embeddings are left as they are: a description only changes when the
        log is re-described (re-ingested).
        """
        flag = f"by:{labeler_version}"
        changed = 0
        while True:
            page = self.collection.get(
                where={flag: True},
                limit=_PAGE,
                include=["metadatas"],
            )
            if not page["ids"]:
                return changed
            updates = [_without_labeler(m, labeler_version) for m in page["metadatas"] or []]
            self.collection.update(ids=page["ids"], metadatas=cast(list[Metadata], updates))
            changed += len(page["ids"])


def _hit(segment_id: str, text: str | None, meta: Mapping[str, Any], distance: float) -> SegmentHit:
    score = 1.0 - float(distance)
    return SegmentHit(
        doc=from_record(segment_id, text, meta), score=score, why=f"similarity {score:.2f}"
    )


def _passes(where: Mapping[str, Any], meta: Mapping[str, Any]) -> bool:
    """Evaluate, in Python, the part of Chroma's ``where`` language that SegmentFilter writes.

    Semantics follow Chroma's: ``$nin`` lets a record without the key through.
    """
    for key, cond in where.items():
        if key == "$and":
            ok = all(_passes(clause, meta) for clause in cond)
        elif isinstance(cond, Mapping):
            ((op, operand),) = cond.items()
            ok = _OPS[op](meta.get(key), operand)
        else:
            ok = meta.get(key) == cond
        if not ok:
            return False
    return True


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "$gte": lambda value, bound: value is not None and value >= bound,
    "$nin": lambda value, excluded: value not in excluded,
}


def _without_labeler(meta: Metadata, labeler_version: str) -> dict[str, Any]:
    """Metadata changes that take back the labels one labeler version asserted."""
    labels = _split(meta.get("labels"))
    dropped = [name for name in labels if meta.get(f"labeler:{name}") == labeler_version]
    update: dict[str, Any] = {f"by:{labeler_version}": None}
    for name in dropped:
        update[f"label:{name}"] = None
        update[f"labeler:{name}"] = None
    update["labels"] = _join([name for name in labels if name not in dropped])
    return update
