"""Stand-ins for the scenario, training and judge steps, to test the flywheel's wiring alone.

Those agents' real procedures and tools are tested where they live; here each of their tools
is replaced by one that records its call and answers in the shape the next node reads, and
their procedures by ones that call those tools in order. Everything else (triage, labeling,
the compute gate, the rollout steward, the approval store, the fleet) is the real thing.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from robotops.agents.judge import node as judge_node
from robotops.agents.reasoning import embedded
from robotops.agents.reasoning.base import Report, Task, Toolbox
from robotops.agents.scenarios import node as scenarios_node
from robotops.agents.training import node as training_node
from robotops.tools.defaults import default_toolsets
from robotops.tools.judge.models import JudgeConfig, Verdict
from robotops.tools.scenarios.tools import GenerateScenariosResult
from robotops.tools.toolset import Toolset, ToolSpec


class Anything(BaseModel):
    """Whatever the flywheel sends, or answers with."""

    model_config = ConfigDict(extra="allow")


def verdict(kind: str) -> dict[str, Any]:
    return Verdict(
        verdict=kind,  # type: ignore[arg-type]
        reasons=["stand-in judge"],
        candidate_version="v9",
        incumbent_version="v1",
        campaign=[],
        evidence_sha256="e" * 64,
        config=JudgeConfig(),
    ).model_dump(mode="json")


def answers(kind: str) -> dict[str, dict[str, Any]]:
    return {
        "generate_scenarios": GenerateScenariosResult(
            family="stand-in", directory="", count=600, scenarios=[]
        ).model_dump(mode="json"),  # 600 scenarios x 2 policies = 1200 campaign episodes
        "train_policy": {"version": "v9", "parent": "v1"},
        "judge_candidate": {"verdict": verdict(kind)},
    }


def _calls_in_order(names: list[str]):
    def run(task: Task, box: Toolbox) -> Report:
        for name in names:
            box.call(name, {"inputs": task.inputs})
        return Report(summary=f"stand-in ran {', '.join(names)}")

    return run


def install(
    monkeypatch: pytest.MonkeyPatch, calls: list[str], verdict_kind: str
) -> dict[str, Toolset]:
    """This test's toolsets (the defaults with stand-ins) and procedure table."""
    toolsets = dict(default_toolsets())
    replies = answers(verdict_kind)
    for kind, module in (
        ("scenarios", scenarios_node),
        ("train", training_node),
        ("judge", judge_node),
    ):
        monkeypatch.setitem(embedded.PROCEDURES, kind, _calls_in_order(list(module.TOOLS.tools)))
        for name in module.TOOLS.tools:

            def fn(req: Anything, ctx: object, name: str = name) -> Anything:
                calls.append(name)
                return Anything(**replies.get(name, {"ok": True}))

            home = next(domain for domain, ts in toolsets.items() if name in ts)
            stand_in = ToolSpec(name, f"stand-in for {name}", Anything, Anything, fn)
            toolsets[home] = toolsets[home].replaced(stand_in)
    return toolsets
