"""The default toolsets: every domain's tools, assembled once by whoever needs them.

The API, the agents, the CLI and the demo call :func:`default_toolsets` instead of listing
modules; tests build their own toolsets (a domain's ``toolset``, narrowed or with stand-ins).
Tools registered the older way (``robotops.tools.registry.tool`` in a module listed in
``TOOL_MODULES``) come in as one more toolset, ``registered``.
"""

from __future__ import annotations

from robotops.tools.toolset import Toolset, combine


def default_toolsets() -> dict[str, Toolset]:
    """Every domain's toolset by domain name (fleet, logs, labeling, triage, scenarios, ...).

    Returns:
        Domain name -> its toolset; the same objects on every call (they hold no state).
    """
    from robotops.tools.campaigns.tools import toolset as campaigns
    from robotops.tools.datasets.tools import toolset as datasets
    from robotops.tools.fleet.tools import toolset as fleet
    from robotops.tools.judge.tools import toolset as judge
    from robotops.tools.labeling.tools import toolset as labeling
    from robotops.tools.logs.tools import toolset as logs
    from robotops.tools.registry import registered
    from robotops.tools.rollout.tools import toolset as rollout
    from robotops.tools.scenarios.tools import toolset as scenarios
    from robotops.tools.triage.tools import toolset as triage

    found = [fleet, logs, labeling, triage, scenarios, campaigns, datasets, judge, rollout]
    extra = registered()
    return {ts.name: ts for ts in found + ([extra] if len(extra) else [])}


def all_tools(toolsets: dict[str, Toolset] | None = None) -> Toolset:
    """The default toolsets (or the given ones) as one toolset; a name in two is refused."""
    return combine((toolsets or default_toolsets()).values())
