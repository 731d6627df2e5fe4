"""Search the fleet's logs by what happened."""

from __future__ import annotations

from fastapi import APIRouter

from robotops.api.deps import Deps, Viewer
from robotops.tools.logs.search import SearchQuery, SearchResult, search_segments

router = APIRouter(tags=["search"])


@router.post("/search")
def search(query: SearchQuery, deps: Deps, _: Viewer) -> SearchResult:
    return search_segments(query, deps.index)
