"""The streaming trigger engine: messages in, incidents out, one message at a time.

It keeps only a little state per rule (the last speeds, the last turn signs), so the same engine
can run beside a recorder on the robot as well as over a whole log at ingest. Messages are
matched to rules by their standard type (``type_matches``), so any robot's topic names work.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatch
from typing import Any

from robotops.sim.logs.readers import type_matches
from robotops.tools.triggers.rules import (
    DiagnosticRule,
    EstopRule,
    EventRule,
    LogRule,
    OscillationRule,
    Rule,
    RuleSet,
    StallRule,
    WheelSlipRule,
)

NS = 1_000_000_000
CMD_TYPES = ("geometry_msgs/Twist", "geometry_msgs/TwistStamped")
ODOM_TYPES = ("nav_msgs/Odometry",)
POSE_TYPES = ("geometry_msgs/PoseStamped", "geometry_msgs/PoseWithCovarianceStamped")
DIAG_LEVEL = {"warn": 1, "error": 2, "stale": 3}
LOG_LEVEL = {  # (rcl_interfaces/Log, rosgraph_msgs/Log)
    "error": {"rcl_interfaces/Log": 40, "rosgraph_msgs/Log": 8},
    "fatal": {"rcl_interfaces/Log": 50, "rosgraph_msgs/Log": 16},
}
SPEED_WINDOW_NS = NS // 2  # measured speed from positions over the last half second


@dataclass(frozen=True)
class Fired:
    """One incident a rule found: when, on which channel, and in words why."""

    rule: str
    kind: str
    time_ns: int
    topic: str
    detail: str
    severity: str = "error"
    onset_ns: int = 0  # when it began (a stall: the stop), <= time_ns


def field_of(msg: Any, path: str, default: Any = None) -> Any:
    """``a.b.c`` of a decoded message, whatever the decoder made (objects or dicts)."""
    for part in path.split("."):
        if msg is None:
            return default
        msg = msg.get(part) if isinstance(msg, dict) else getattr(msg, part, None)
    return default if msg is None else msg


def _level(value: Any) -> int:
    if isinstance(value, bytes | bytearray):
        return value[0] if value else 0
    return int(value or 0)


def _clock(t_ns: int) -> str:
    secs = t_ns / NS
    return f"{int(secs // 3600 % 24):02d}:{int(secs // 60 % 60):02d}:{secs % 60:06.3f}"


def _topic_ok(rule: Rule, topic: str) -> bool:
    return rule.topic is None or fnmatch(topic, rule.topic)


_RULE_TYPES: dict[type, tuple[str, ...]] = {
    DiagnosticRule: ("diagnostic_msgs/DiagnosticArray",),
    LogRule: ("rcl_interfaces/Log", "rosgraph_msgs/Log"),
    EventRule: ("robotops_msgs/Event",),
    StallRule: CMD_TYPES + ODOM_TYPES,
    OscillationRule: CMD_TYPES,
    WheelSlipRule: ODOM_TYPES + POSE_TYPES,
}


def _reads(rule: Rule, topic: str, schema: str) -> bool:
    """Whether ``rule`` reads messages of this channel."""
    if isinstance(rule, EstopRule):
        return _topic_ok(rule, topic)
    types = _RULE_TYPES[type(rule)]
    if isinstance(rule, StallRule | OscillationRule | WheelSlipRule):
        return any(type_matches(schema, t) for t in types)  # motion: every channel of the type
    return _topic_ok(rule, topic) and any(type_matches(schema, t) for t in types)


class _Motion:
    """Commanded and measured motion, kept up to date from the messages seen."""

    def __init__(self) -> None:
        self.cmd_v = 0.0
        self.cmd_w = 0.0
        self.cmd_topic = ""
        self.cmd_seen = False
        self.odom_topic = ""
        self.twist_seen = False  # some odometry leaves its twist at 0: then positions tell
        self.odom: deque[tuple[int, float, float, float]] = deque()  # t, x, y, twist speed
        self.pose_topic = ""
        self.pose: deque[tuple[int, float, float]] = deque()

    def feed(self, topic: str, schema: str, t: int, msg: Any) -> str | None:
        """Take a motion message; returns which stream it updated ("cmd", "odom", "pose")."""
        if any(type_matches(schema, s) for s in CMD_TYPES):
            twist = field_of(msg, "twist") if type_matches(schema, CMD_TYPES[1]) else msg
            self.cmd_v = math.hypot(
                float(field_of(twist, "linear.x", 0.0)), float(field_of(twist, "linear.y", 0.0))
            )
            self.cmd_w = float(field_of(twist, "angular.z", 0.0))
            self.cmd_topic, self.cmd_seen = self.cmd_topic or topic, True
            return "cmd" if topic == self.cmd_topic else None
        if type_matches(schema, ODOM_TYPES[0]):
            if self.odom_topic and topic != self.odom_topic:
                return None
            self.odom_topic = topic
            twist = field_of(msg, "twist.twist.linear")
            speed = math.hypot(float(field_of(twist, "x", 0.0)), float(field_of(twist, "y", 0.0)))
            x = float(field_of(msg, "pose.pose.position.x", 0.0))
            y = float(field_of(msg, "pose.pose.position.y", 0.0))
            self.twist_seen = self.twist_seen or speed > 0.0
            _push(self.odom, (t, x, y, speed))
            return "odom"
        if any(type_matches(schema, s) for s in POSE_TYPES):
            if self.pose_topic and topic != self.pose_topic:
                return None
            self.pose_topic = topic
            prefix = "pose.pose" if type_matches(schema, POSE_TYPES[1]) else "pose"
            x = float(field_of(msg, f"{prefix}.position.x", 0.0))
            y = float(field_of(msg, f"{prefix}.position.y", 0.0))
            _push(self.pose, (t, x, y))
            return "pose"
        return None

    def speed(self) -> float:
        """Measured speed: the odometry's twist, or its positions when the twist is left at 0."""
        if not self.odom:
            return 0.0
        return self.odom[-1][3] if self.twist_seen else _rate(self.odom)

    def wheel_rate(self) -> float:
        return _rate(self.odom) if self.odom else 0.0

    def pose_rate(self) -> float | None:
        return _rate(self.pose) if len(self.pose) > 1 else None


def _push(buf: deque, item: tuple) -> None:
    buf.append(item)
    while len(buf) > 2 and buf[-1][0] - buf[1][0] >= SPEED_WINDOW_NS:
        buf.popleft()


def _rate(buf: deque) -> float:
    (t0, x0, y0, *_), (t1, x1, y1, *_) = buf[0], buf[-1]
    return math.hypot(x1 - x0, y1 - y0) / ((t1 - t0) / NS) if t1 > t0 else 0.0


@dataclass
class _StallState:
    driving_since: int | None = None
    drove: bool = False
    stopped_since: int | None = None
    fired: bool = False
    cmd_while_stopped: float = 0.0


@dataclass
class _SlipState:
    since: int | None = None
    fired: bool = False


@dataclass
class TriggerEngine:
    """Runs a rule set over messages fed in time order; :meth:`finish` returns the incidents."""

    ruleset: RuleSet
    fired: list[Fired] = field(default_factory=list)
    motion: _Motion = field(default_factory=_Motion)
    _stall: dict[str, _StallState] = field(default_factory=dict)
    _slip: dict[str, _SlipState] = field(default_factory=dict)
    _turns: dict[str, deque[tuple[int, int]]] = field(default_factory=dict)
    _estop: dict[tuple[str, str], bool] = field(default_factory=dict)
    _diag: dict[tuple[str, str], int] = field(default_factory=dict)
    _wants: dict[tuple[str, str], bool] = field(default_factory=dict)

    def feed(self, topic: str, schema: str, t_ns: int, msg: Any) -> None:
        """Take one decoded message (``msg`` None: it did not decode, and is only counted)."""
        if msg is None:
            return
        stream = self.motion.feed(topic, schema, t_ns, msg)
        for rule in self.ruleset.rules:
            if isinstance(rule, DiagnosticRule):
                self._diagnostic(rule, topic, schema, t_ns, msg)
            elif isinstance(rule, LogRule):
                self._log(rule, topic, schema, t_ns, msg)
            elif isinstance(rule, EventRule):
                self._event(rule, topic, schema, t_ns, msg)
            elif isinstance(rule, EstopRule):
                self._estop_msg(rule, topic, t_ns, msg)
            elif isinstance(rule, StallRule) and stream in ("odom", "cmd"):
                self._stall_step(rule, t_ns)
            elif isinstance(rule, OscillationRule) and stream == "cmd":
                self._oscillation(rule, t_ns)
            elif isinstance(rule, WheelSlipRule) and stream == "odom":
                self._slip_step(rule, t_ns)

    def wants(self, topic: str, schema: str) -> bool:
        """Whether a message of this channel matters to some rule (decode only those)."""
        key = (topic, schema)
        cached = self._wants.get(key)
        if cached is None:
            cached = self._wants[key] = any(
                _reads(rule, topic, schema) for rule in self.ruleset.rules
            )
        return cached

    def feed_all(self, messages: Iterable[tuple[str, str, int, Any]]) -> list[Fired]:
        for topic, schema, t_ns, msg in messages:
            self.feed(topic, schema, t_ns, msg)
        return self.finish()

    def finish(self) -> list[Fired]:
        """The incidents, in time order, one per kind within ``merge_s`` (the earliest kept: a
        robot's own event and the behaviour it reports are one incident)."""
        kept: list[Fired] = []
        last: dict[str, int] = {}
        merge = int(self.ruleset.merge_s * NS)
        for f in sorted(self.fired, key=lambda f: (f.time_ns, f.rule)):
            if f.kind in last and f.time_ns - last[f.kind] < merge:
                continue
            last[f.kind] = f.time_ns
            kept.append(f)
        return kept

    # message rules -------------------------------------------------------------------------

    def _diagnostic(self, rule: DiagnosticRule, topic: str, schema: str, t: int, msg: Any) -> None:
        if not type_matches(schema, "diagnostic_msgs/DiagnosticArray") or not _topic_ok(
            rule, topic
        ):
            return
        threshold = DIAG_LEVEL[rule.level]
        for status in field_of(msg, "status", []) or []:
            name = str(field_of(status, "name", ""))
            level = _level(field_of(status, "level", 0))
            previous = self._diag.get((rule.name, name), 0)
            self._diag[(rule.name, name)] = level
            if level >= threshold and previous < threshold:
                text = str(field_of(status, "message", ""))
                severity = {1: "warn", 2: "error"}.get(level, "stale")
                self._fire(rule, "diagnostic_error", t, topic, f"{name}: {text}".strip(), severity)

    def _log(self, rule: LogRule, topic: str, schema: str, t: int, msg: Any) -> None:
        for kind, threshold in LOG_LEVEL[rule.level].items():
            if type_matches(schema, kind) and _topic_ok(rule, topic):
                if _level(field_of(msg, "level", 0)) >= threshold:
                    text = f"{field_of(msg, 'name', '')}: {field_of(msg, 'msg', '')}".strip(": ")
                    self._fire(rule, "log_error", t, topic, text)
                return

    def _event(self, rule: EventRule, topic: str, schema: str, t: int, msg: Any) -> None:
        if not type_matches(schema, "robotops_msgs/Event") or not _topic_ok(rule, topic):
            return
        kind = str(field_of(msg, "kind", "event"))
        if rule.kinds is None or kind in rule.kinds:
            detail = str(field_of(msg, "detail", "")) or f"the robot reported {kind}"
            self._fire(rule, kind, t, topic, detail, str(field_of(msg, "severity", "")) or "error")

    def _estop_msg(self, rule: EstopRule, topic: str, t: int, msg: Any) -> None:
        if not _topic_ok(rule, topic):
            return
        value = field_of(msg, "data")
        if value is None:
            value = field_of(msg, "active", field_of(msg, "engaged"))
        if not isinstance(value, bool | int):
            return
        on, was = bool(value), self._estop.get((rule.name, topic), False)
        self._estop[(rule.name, topic)] = on
        if on and not was:
            self._fire(rule, "estop", t, topic, f"e-stop engaged on {topic} at {_clock(t)}")

    # behaviour rules -----------------------------------------------------------------------

    def _stall_step(self, rule: StallRule, t: int) -> None:
        m, s = self.motion, self._stall.setdefault(rule.name, _StallState())
        if not m.odom:
            return
        speed = m.speed()
        if speed > rule.moving_mps:
            s.driving_since = s.driving_since if s.driving_since is not None else t
            s.drove = s.drove or (t - s.driving_since) >= rule.driving_s * NS
            s.stopped_since, s.fired, s.cmd_while_stopped = None, False, 0.0
            return
        if speed > rule.stopped_mps:
            return  # slowing down or speeding up: neither driving nor stopped
        s.driving_since = None
        if not s.drove:
            return
        if s.stopped_since is None:
            s.stopped_since = t
        if m.cmd_seen:
            s.cmd_while_stopped = max(s.cmd_while_stopped, m.cmd_v)
        if not s.fired and t - s.stopped_since >= rule.min_s * NS:
            s.fired = True
            self._fire(
                rule,
                "stall",
                t,
                m.odom_topic,
                self._stall_detail(rule, s, t),
                onset_ns=s.stopped_since,
            )

    def _stall_detail(self, rule: StallRule, s: _StallState, t: int) -> str:
        m = self.motion
        stopped = f"stopped mid-drive at {_clock(s.stopped_since or t)} for {rule.min_s:g} s"
        where = f" ({m.odom_topic})"
        if not m.cmd_seen:
            return f"robot {stopped}{where}; no velocity command channel"
        if s.cmd_while_stopped > rule.moving_mps:
            return (
                f"robot {stopped}{where} while {m.cmd_topic} still commanded "
                f"{s.cmd_while_stopped:.2f} m/s"
            )
        return f"robot {stopped}{where}; {m.cmd_topic} commanded a stop too"

    def _oscillation(self, rule: OscillationRule, t: int) -> None:
        w = self.motion.cmd_w
        if abs(w) < rule.min_rad_s:
            return
        turns = self._turns.setdefault(rule.name, deque())
        sign = 1 if w > 0 else -1
        if not turns or turns[-1][1] != sign:
            turns.append((t, sign))
        while turns and t - turns[0][0] > rule.window_s * NS:
            turns.popleft()
        if len(turns) - 1 >= rule.reversals:
            self._fire(
                rule,
                "oscillation",
                t,
                self.motion.cmd_topic,
                f"turn command reversed {len(turns) - 1} times in {rule.window_s:g} s",
                "warn",
            )
            turns.clear()

    def _slip_step(self, rule: WheelSlipRule, t: int) -> None:
        m, s = self.motion, self._slip.setdefault(rule.name, _SlipState())
        wheel, real = m.wheel_rate(), m.pose_rate()
        if real is None or wheel < rule.moving_mps:
            s.since, s.fired = None, False
            return
        if 1.0 - real / wheel < rule.fraction:
            s.since, s.fired = None, False
            return
        s.since = s.since if s.since is not None else t
        if not s.fired and t - s.since >= rule.min_s * NS:
            s.fired = True
            self._fire(
                rule,
                "wheel_slip",
                t,
                m.odom_topic,
                f"wheels at {wheel:.2f} m/s while {m.pose_topic} moved {real:.2f} m/s",
                "warn",
            )

    def _fire(
        self,
        rule: Rule,
        kind: str,
        t: int,
        topic: str,
        detail: str,
        severity: str = "error",
        onset_ns: int = 0,
    ) -> None:
        self.fired.append(
            Fired(rule.name, rule.kind or kind, t, topic, detail, severity, onset_ns or t)
        )
