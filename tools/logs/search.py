"""Search log segments by what happened in them, in plain words.

Ingest describes every segment of every log in words (features, events, labels); this tool
finds the segments whose description is closest in meaning to a question such as "lens flare
near a forklift", optionally narrowed to a robot, a site, a time, a label or an event kind.
Each hit says why it matched, so that a person or an agent can judge it without opening the log.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from robotops.memory.segment_docs import SegmentDoc, SegmentHit
from robotops.memory.vectors import SegmentFilter, VectorIndex, normalize_tag

# Words that carry no meaning of their own in a search question.
_STOPWORD_TEXT = """a an and any are as at be by did do does for from has have in into is it near
of on or over show some than that the then there this to under was were what when where which
while who why with"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_SUFFIXES = ("ing", "ed", "es", "s")


class SearchQuery(BaseModel):
    """A search over indexed segments: the words, how many hits, and optional narrowing."""

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)] = Field(
        description="what happened, in words, e.g. 'lens flare near a forklift'"
    )
    k: int = Field(10, ge=1, le=1000, description="how many segments to return at most")
    robot_id: str | None = None
    site: str | None = None
    since_ns: int | None = Field(None, description="only segments ending at or after this time")
    label: str | None = Field(None, description="only segments carrying this label")
    event: str | None = Field(None, description="only segments containing this event kind")

    def to_filter(self) -> SegmentFilter:
        return SegmentFilter(
            robot_id=self.robot_id,
            site=self.site,
            since_ns=self.since_ns,
            label=self.label,
            event=self.event,
        )


class SearchResult(BaseModel):
    """The hits of a search, best first; each carries its segment, score and reason."""

    query: SearchQuery
    hits: list[SegmentHit]


def search_segments(query: SearchQuery, index: VectorIndex) -> SearchResult:
    """Find the log segments that best match a description of what happened.

    Use it to find examples of a failure ("glare on the camera", "robot stalled near a
    forklift"), to look for past incidents like a new one, or to collect segments to label or
    to turn into scenarios. Narrow with ``robot_id``, ``site``, ``since_ns``, ``label`` or
    ``event`` when the question names them; filters are exact, the text is matched by meaning.

    Args:
        query: the words and filters.
        index: the vector index to search (e.g. ``VectorIndex.from_settings(get_settings())``).

    Returns:
        Up to ``query.k`` hits, best first; score is the cosine similarity of the query and the
        segment description (1 is identical in meaning, around 0 unrelated).
    """
    hits = index.query(query.text, query.k, query.to_filter())
    return SearchResult(
        query=query,
        hits=[hit.model_copy(update={"why": explain(query, hit.doc, hit.score)}) for hit in hits],
    )


def explain(query: SearchQuery, doc: SegmentDoc, score: float) -> str:
    """Say why ``doc`` matched: shared words, matching labels and events, filters, similarity."""
    terms = [t for t in _words(query.text) if t not in _STOPWORDS]
    reasons = [f"similarity {score:.2f}"]
    said = _shared(terms, _words(doc.text))
    if said:
        reasons.append("description mentions " + ", ".join(said))
    for kind, tags, required in (
        ("labels", doc.labels, query.label),
        ("events", doc.events, query.event),
    ):
        wanted = normalize_tag(required) if required else None
        hits = [t for t in tags if t == wanted or _shared(terms, _words(t))]
        if hits:
            reasons.append(f"{kind} {', '.join(hits)}")
    return "; ".join(reasons)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _shared(terms: list[str], words: list[str]) -> list[str]:
    """Query terms that occur in ``words``, allowing for plurals and tenses (flare ~ flared)."""
    stems = {_stem(w) for w in words}
    shared = []
    for term in dict.fromkeys(terms):
        s = _stem(term)
        if any(s == w or _same_root(s, w) for w in stems):
            shared.append(term)
    return shared


def _same_root(a: str, b: str) -> bool:
    return min(len(a), len(b)) >= 4 and (a.startswith(b) or b.startswith(a))
