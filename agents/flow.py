"""Small helpers the flywheel's nodes share: reading earlier findings out of the state.

Findings are JSON; a later node takes what it needs from an earlier tool's result by key.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from robotops.agents.state import FlywheelState


def result_of(state: FlywheelState, agent: str, tool: str) -> dict[str, Any]:
    """The last result of ``tool`` in ``agent``'s finding ({} when there is none)."""
    finding = (state.get("findings") or {}).get(agent) or {}
    return dict((finding.get("results") or {}).get(tool) or {})


def content_hash(data: Any) -> str:
    """sha256 of canonical JSON: the artifact hash of a result that carries none of its own."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
