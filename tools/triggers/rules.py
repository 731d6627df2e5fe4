"""Trigger rules as YAML: which messages and behaviours make an incident.

A rule file is a list under ``rules:``; each rule has a ``name``, a ``type`` and that type's
parameters. Message rules read standard messages (``diagnostic``: DiagnosticArray at WARN or
ERROR; ``log``: rcl_interfaces/Log or rosgraph_msgs/Log at ERROR and above; ``event``: our own
robotops_msgs/Event). Behaviour rules read motion: ``stall`` (the robot stops in the middle of
driving for more than ``min_s``, whether or not its planner keeps commanding motion), ``estop``
(a Bool-like e-stop topic goes true), ``oscillation`` (turn commands reversing sign) and
``wheel_slip`` (wheel odometry moving while localisation does not). Channels are found by
message type; ``topic`` (a glob) narrows that for robots with several of one type. The same file
is meant to run on the robot as well as at ingest, so rules read only message fields.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from robotops.errors import InvalidRequestError

DEFAULT_RULES = Path(__file__).with_name("default_rules.yaml")


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    topic: str | None = Field(None, description="glob on the topic name; None: any of the type")
    kind: str | None = Field(None, description="incident kind; default from the rule type")


class DiagnosticRule(_Rule):
    type: Literal["diagnostic"]
    level: Literal["warn", "error", "stale"] = "error"


class LogRule(_Rule):
    type: Literal["log"]
    level: Literal["error", "fatal"] = "error"


class EventRule(_Rule):
    type: Literal["event"]
    kinds: list[str] | None = Field(None, description="event kinds to keep; None: all")


class StallRule(_Rule):
    type: Literal["stall"]
    min_s: float = Field(3.0, gt=0, description="stopped at least this long")
    moving_mps: float = Field(0.15, gt=0, description="faster than this is driving")
    stopped_mps: float = Field(0.03, ge=0, description="slower than this is stopped")
    driving_s: float = Field(1.0, ge=0, description="it drove at least this long before")


class EstopRule(_Rule):
    type: Literal["estop"]
    topic: str | None = "*e*stop*"


class OscillationRule(_Rule):
    type: Literal["oscillation"]
    window_s: float = Field(4.0, gt=0)
    reversals: int = Field(4, ge=2, description="sign changes of the turn command in window_s")
    min_rad_s: float = Field(0.15, ge=0, description="turn commands smaller than this ignored")


class WheelSlipRule(_Rule):
    type: Literal["wheel_slip"]
    min_s: float = Field(1.0, gt=0)
    fraction: float = Field(0.5, gt=0, le=1, description="share of wheel motion not real")
    moving_mps: float = Field(0.15, gt=0)


Rule = Annotated[
    DiagnosticRule | LogRule | EventRule | StallRule | EstopRule | OscillationRule | WheelSlipRule,
    Field(discriminator="type"),
]


class RuleSet(BaseModel):
    """The rules of one file; ``merge_s``: incidents of one kind closer than this are one."""

    model_config = ConfigDict(extra="forbid")

    rules: list[Rule]
    merge_s: float = Field(10.0, ge=0)


def load_rules(path: Path | None = None) -> RuleSet:
    """The rules in a YAML file (the default rules when ``path`` is None).

    Raises:
        InvalidRequestError: the file is missing, not YAML, or a rule is wrong (which and why).
    """
    path = Path(path) if path is not None else DEFAULT_RULES
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise InvalidRequestError(f"rules file {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise InvalidRequestError(f"rules file {path} is not YAML: {exc}") from exc
    return parse_rules(data, str(path))


def parse_rules(data: object, where: str = "rules") -> RuleSet:
    """Validate already-loaded rules; a list of rules is accepted as well as ``{rules: [...]}``."""
    if isinstance(data, list):
        data = {"rules": data}
    try:
        ruleset = TypeAdapter(RuleSet).validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise InvalidRequestError(f"{where}: {loc}: {first['msg']}") from exc
    names = [r.name for r in ruleset.rules]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InvalidRequestError(f"{where}: rule names must be unique: {', '.join(dupes)}")
    return ruleset
