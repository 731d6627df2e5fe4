"""Provenance: record what each artifact was made from, and walk those edges both ways.

Provenance is a safety feature: a policy, a dataset or a window cut must say exactly which bytes
it came from. Artifacts are content hashes, so an edge can never silently start pointing at
different data. The walks run in Python over plain selects (no recursive SQL), which keeps them
portable across SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from robotops.memory.catalog import ArtifactPublic, ArtifactRow, Catalog, ProvenanceRow

_IN_CHUNK = 500  # keys per IN (...) clause, well under every database's parameter limit


class Edge(BaseModel):
    """One hop of lineage: the artifact at the other end and how it relates."""

    sha256: str
    relation: str
    kind: str | None = Field(None, description="None when the other end is not in the catalog")
    uri: str | None = None


class Lineage(BaseModel):
    """An artifact with what it was made from and what was made from it."""

    artifact: ArtifactPublic
    parents: list[Edge]
    children: list[Edge]
    ancestors: list[str] = Field(description="every artifact it was made from, transitively")
    descendants: list[str] = Field(description="every artifact made from it, transitively")


def record_artifact(
    session: Session,
    *,
    sha256: str,
    kind: str,
    produced_by: str,
    tool_version: str,
    uri: str = "",
    size_bytes: int = 0,
    parents: Iterable[tuple[str, str]] = (),
    meta: dict[str, Any] | None = None,
) -> None:
    """Add an artifact and its ``(parent_sha, relation)`` edges inside the caller's transaction.

    Recording the same artifact again is a no-op apart from adding edges it did not have yet,
    since the same bytes can legitimately be produced twice (e.g. two identical thumbnails).
    """
    if session.get(ArtifactRow, sha256) is None:
        session.add(
            ArtifactRow(
                sha256=sha256,
                kind=kind,
                uri=uri,
                size_bytes=size_bytes,
                produced_by=produced_by,
                tool_version=tool_version,
                meta=meta or {},
            )
        )
    for parent, relation in dict(parents).items():
        if parent == sha256 or session.get(ProvenanceRow, (sha256, parent)) is not None:
            continue
        session.add(ProvenanceRow(child_sha=sha256, parent_sha=parent, relation=relation))
    session.flush()  # later lookups in this transaction see what was just added


def record_derived(
    session: Session,
    shas: Iterable[str],
    *,
    kind: str,
    produced_by: str,
    tool_version: str,
    parent: str,
    relation: str,
    uri_of: Callable[[str], str] = lambda _: "",
) -> None:
    """Record many artifacts one tool made from one parent (e.g. a log's thumbnails) in a few
    statements rather than a few per artifact; same no-op rules as :func:`record_artifact`."""
    wanted = sorted(set(shas) - {parent})
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start : start + _IN_CHUNK]
        known = set(
            session.scalars(select(ArtifactRow.sha256).where(ArtifactRow.sha256.in_(chunk)))
        )
        linked = set(
            session.scalars(
                select(ProvenanceRow.child_sha).where(
                    ProvenanceRow.child_sha.in_(chunk), ProvenanceRow.parent_sha == parent
                )
            )
        )
        session.add_all(
            ArtifactRow(
                sha256=sha,
                kind=kind,
                uri=uri_of(sha),
                size_bytes=0,
                produced_by=produced_by,
                tool_version=tool_version,
                meta={},
            )
            for sha in chunk
            if sha not in known
        )
        session.add_all(
            ProvenanceRow(child_sha=sha, parent_sha=parent, relation=relation)
            for sha in chunk
            if sha not in linked
        )
        session.flush()


def parents(catalog: Catalog, sha256: str) -> list[Edge]:
    """What ``sha256`` was made from, one hop up."""
    with catalog.session() as session:
        rows = session.execute(
            select(
                ProvenanceRow.parent_sha, ProvenanceRow.relation, ArtifactRow.kind, ArtifactRow.uri
            )
            .outerjoin(ArtifactRow, ArtifactRow.sha256 == ProvenanceRow.parent_sha)
            .where(ProvenanceRow.child_sha == sha256)
            .order_by(ProvenanceRow.parent_sha)
        )
        return [Edge(sha256=s, relation=r, kind=k, uri=u) for s, r, k, u in rows]


def children(catalog: Catalog, sha256: str) -> list[Edge]:
    """What was made from ``sha256``, one hop down."""
    with catalog.session() as session:
        rows = session.execute(
            select(
                ProvenanceRow.child_sha, ProvenanceRow.relation, ArtifactRow.kind, ArtifactRow.uri
            )
            .join(ArtifactRow, ArtifactRow.sha256 == ProvenanceRow.child_sha)
            .where(ProvenanceRow.parent_sha == sha256)
            .order_by(ProvenanceRow.child_sha)
        )
        return [Edge(sha256=s, relation=r, kind=k, uri=u) for s, r, k, u in rows]


def ancestors(catalog: Catalog, sha256: str) -> list[str]:
    """Every artifact ``sha256`` was made from, nearest first ("what was this made from")."""
    return _walk(catalog, sha256, up=True)


def descendants(catalog: Catalog, sha256: str) -> list[str]:
    """Every artifact made from ``sha256``, nearest first ("what was made from this")."""
    return _walk(catalog, sha256, up=False)


def lineage(catalog: Catalog, ref: str) -> Lineage:
    """Everything provenance knows about one artifact (``ref``: sha256 or a prefix of it).

    Raises:
        NotFoundError: no artifact matches ``ref``.
    """
    artifact = catalog.get_artifact(ref)
    sha = artifact.sha256
    return Lineage(
        artifact=artifact,
        parents=parents(catalog, sha),
        children=children(catalog, sha),
        ancestors=ancestors(catalog, sha),
        descendants=descendants(catalog, sha),
    )


def _walk(catalog: Catalog, start: str, up: bool) -> list[str]:
    """Breadth-first over the edges, one query per level; cycles cannot loop forever."""
    near, far = (ProvenanceRow.child_sha, ProvenanceRow.parent_sha)
    if not up:
        near, far = far, near
    seen = {start}
    order: list[str] = []
    frontier = [start]
    with catalog.session() as session:
        while frontier:
            found = session.scalars(select(far).where(near.in_(frontier)).distinct()).all()
            frontier = sorted(s for s in found if s not in seen)
            seen.update(frontier)
            order.extend(frontier)
    return order
