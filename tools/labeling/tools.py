"""The labeler's tool: label camera segments not yet labeled by the current labeler."""

from __future__ import annotations

from robotops.tools.context import ToolContext
from robotops.tools.labeling.models import LabelRequest, LabelResult
from robotops.tools.labeling.run import LabelDeps, label_segments
from robotops.tools.toolset import Toolset

toolset = Toolset("labeling")


@toolset.tool("label_segments")
def label_segments_tool(request: LabelRequest, ctx: ToolContext) -> LabelResult:
    """Label camera segments not yet labeled by the current labeler (glare, forklift, ...).

    Use it after ingesting new logs so that search and datasets can find segments by what is
    in them; it only does what is missing.
    """
    return label_segments(request, LabelDeps.from_settings(ctx.settings, index=ctx.index))
