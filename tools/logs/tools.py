"""The logs' tools: ingest a log into the catalog and index, search indexed segments."""

from __future__ import annotations

from robotops.tools.context import ToolContext
from robotops.tools.logs.ingest import IngestRequest, IngestResult, ingest_log
from robotops.tools.logs.search import SearchQuery, SearchResult, search_segments
from robotops.tools.toolset import Toolset

toolset = Toolset("logs")


@toolset.tool("ingest_log")
def ingest_log_tool(request: IngestRequest, ctx: ToolContext) -> IngestResult:
    """Store a log (MCAP, ROS 2 or ROS 1 bag), catalogue it and index its segments for search.

    Use it on a pulled window or any log file before searching or labeling it; ingesting the
    same log twice stores it once.
    """
    return ingest_log(request, ctx.ingest)


@toolset.tool("search_segments")
def search_segments_tool(request: SearchQuery, ctx: ToolContext) -> SearchResult:
    """Find log segments that match a description of what happened, across the whole fleet.

    Use it for "similar incidents" ("camera glare, phantom obstacle stop"), or examples of a
    label or event; each hit says why it matched.
    """
    return search_segments(request, ctx.index)
