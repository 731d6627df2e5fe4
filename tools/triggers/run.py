"""Run trigger rules over a whole log file (``robotops triggers test``, and checks)."""

from __future__ import annotations

from pathlib import Path

from robotops.sim.logs.readers import open_log
from robotops.tools.triggers.engine import Fired, TriggerEngine
from robotops.tools.triggers.rules import RuleSet


def run_rules(path: Path, ruleset: RuleSet) -> list[Fired]:
    """The incidents the rules find in the log at ``path``, in time order.

    Raises:
        NotFoundError: no log at ``path``.
        LogFormatError: the log cannot be read.
    """
    engine = TriggerEngine(ruleset)
    with open_log(Path(path)) as reader:
        for message in reader.messages():
            if engine.wants(message.topic, message.schema_name):
                engine.feed(
                    message.topic, message.schema_name, message.log_time_ns, message.decoded
                )
    return engine.finish()
