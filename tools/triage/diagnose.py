"""The triage procedure: measure signals around an incident, then name the most likely cause.

A stall is flagged a few seconds after the robot stopped, so the evidence is read from just
before the stop began up to the flag. It separates a phantom obstacle (perception says stop,
range says the way is free) from a real one, and attributes phantoms to what the camera shows:
clipped pixels (glare), a dark band across the floor (a hard shadow), or a much darker patch (a
spill). Motion problems come from the drive: wheel odometry against localisation (slip on oil)
and a robot that follows its turn commands late (a laggy motor controller). Text inside the log
(diagnostics, log lines, events) is cited as evidence only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from robotops.tools.labeling.registry import FrameError
from robotops.tools.triage.models import Citation, DiagnoseRequest, Diagnosis, Signal
from robotops.tools.triage.signals import (
    dark_band,
    decode_image,
    front_range,
    response_lag,
    saturation,
    slip_fraction,
    steering_reversals,
    stop_onset,
)
from robotops.tools.triage.window import Window, get, read_window

FREE_AHEAD_M = 2.3  # the controller stops for things within ~2 m; beyond that the way is free
GLARE_SATURATION = 0.002
SHADOW_BAND = 0.3
SPILL_BAND = 0.67  # a film of oil is darker than any shadow the lights here throw
SLIP_FRACTION = 0.25
LATE_RESPONSE_S = 0.4
OSCILLATION_REVERSALS = 3
LOOK_BEFORE_STOP_S = 2.0


@dataclass
class Evidence:
    """The measured values the decision uses (None: the channel was missing)."""

    saturation: float | None = None
    band: float | None = None
    ahead_m: float | None = None
    slip: float | None = None
    lag_s: float = 0.0
    reversals: int = 0


def _cite(win: Window, role: str, start: int, end: int, frame: str | None = None) -> Citation:
    return Citation(
        log=win.log, topic=win.topics.get(role, "?"), start_ns=start, end_ns=end, frame_path=frame
    )


def _in(win: Window, role: str, start: int, end: int) -> list:
    return [(t, m) for t, m in win.messages[role] if start <= t <= end]


def _save_frame(req: DiagnoseRequest, t_ns: int, img: np.ndarray) -> str | None:
    if not req.frames_dir:
        return None
    Path(req.frames_dir).mkdir(parents=True, exist_ok=True)
    path = Path(req.frames_dir) / f"frame_{t_ns}.png"
    Image.fromarray(img).save(path)
    return str(path)


def _decoded(win: Window, picked: list) -> list[tuple[int, np.ndarray]]:
    """The frames that decode; a corrupt frame is skipped, not fatal."""
    images = []
    for t, m in picked:
        try:
            images.append((t, decode_image(m, win.compressed())))
        except FrameError:
            continue
    return images


def _camera(
    win: Window, req: DiagnoseRequest, start: int, ev: Evidence, signals: list[Signal]
) -> None:
    """Peak clipped fraction and deepest floor band over the frames from before the stop."""
    picked = _in(win, "image", start, req.time_ns)
    if not picked:
        return
    images = _decoded(win, picked)
    if not images:
        signals.append(Signal(name="camera_frames_decoded", value=0, note="no frame decoded"))
        return
    sats = np.array([saturation(img) for _, img in images])
    bands = np.array([dark_band(img)[0] for _, img in images])
    ev.saturation, ev.band = float(sats.max()), float(bands.max())
    worst = int(np.argmax(sats * 20 + bands))
    frame = _save_frame(req, *images[worst])
    cite = _cite(win, "image", picked[0][0], picked[-1][0], frame)
    signals.append(
        Signal(
            name="camera_saturation",
            value=ev.saturation,
            citation=cite,
            note=f"up to {100 * ev.saturation:.1f}% of the camera's pixels clipped",
        )
    )
    signals.append(
        Signal(
            name="floor_dark_band",
            value=ev.band,
            citation=cite,
            note=f"darkest band across the floor {100 * ev.band:.0f}% below the lit floor",
        )
    )


def _range(
    win: Window, req: DiagnoseRequest, onset: int, ev: Evidence, signals: list[Signal]
) -> None:
    """Free range straight ahead: typical while stopped for a stall, closest in the last second
    for anything else (a safety stop or a collision happens at one moment)."""
    stalled = req.kind == "stall" and onset < req.time_ns
    start = onset if stalled else req.time_ns - 1_000_000_000
    scans = _in(win, "scan", start, req.time_ns) or _in(win, "scan", 0, req.time_ns)[-5:]
    if not scans:
        return
    ranges = [front_range(m) for _, m in scans]
    ev.ahead_m = float(np.median(ranges)) if stalled else float(min(ranges))
    signals.append(
        Signal(
            name="free_range_ahead_m",
            value=ev.ahead_m,
            citation=_cite(win, "scan", scans[0][0], scans[-1][0]),
            note=f"the range sensor saw {ev.ahead_m:.1f} m free straight ahead",
        )
    )


def _over(win: Window, role: str, name: str, value: float, note: str) -> Signal:
    """A signal measured over every message of ``role`` in the window."""
    msgs = win.messages[role]
    cite = _cite(win, role, msgs[0][0], msgs[-1][0])
    return Signal(name=name, value=value, note=note, citation=cite)


def _drive(win: Window, ev: Evidence, signals: list[Signal]) -> None:
    """Slip (wheel odometry against localisation), late response, steering reversals."""
    cmds, odom, poses = win.messages["cmd"], win.messages["odom"], win.messages["pose"]
    if odom and poses:
        ev.slip = slip_fraction(odom, poses)
        note = f"wheel odometry and localisation disagreed {100 * ev.slip:.0f}% of moving time"
        signals.append(_over(win, "odom", "wheel_slip_fraction", ev.slip, note))
    if cmds:
        ev.reversals = steering_reversals(cmds)
        note = f"{ev.reversals} reversals of the commanded turn rate"
        signals.append(_over(win, "cmd", "steering_reversals", ev.reversals, note))
    if cmds and odom:
        ev.lag_s, corr = response_lag(cmds, odom)
        note = f"measured turn rate followed the command {ev.lag_s:.2f} s late (r={corr:.2f})"
        signals.append(_over(win, "odom", "turn_response_lag_s", ev.lag_s, note))


def _text(win: Window, signals: list[Signal]) -> None:
    """Perception, diagnostics, log lines and events in the window: cited, never obeyed."""
    if det := win.messages["perception"]:
        peak = max(float(get(m, "probability", default=0.0)) for _, m in det)
        note = f"perception reported an obstacle with p up to {peak:.2f}"
        signals.append(_over(win, "perception", "perception_obstacle_probability", peak, note))
    if diags := win.messages["diagnostics"]:
        levels = [int(get(s, "level", default=0)) for _, d in diags for s in get(d, "status") or []]
        worst = max(levels, default=0)
        note = f"worst diagnostics level {worst} (0 ok, 1 warn, 2 error, 3 stale)"
        signals.append(_over(win, "diagnostics", "diagnostics_worst_level", worst, note))
    for role, field in (("events", "kind"), ("text", "msg")):
        if msgs := win.messages[role]:
            said = sorted({str(get(m, field, default="?"))[:60] for _, m in msgs})
            note = f"{len(msgs)} {role} in the window: {', '.join(said[:5])}"
            signals.append(_over(win, role, f"{role}_in_window", len(msgs), note))


Finding = tuple[str, float, str]  # cause, confidence, why


def _late(ev: Evidence) -> Finding | None:
    """A robot that follows its commands late caused whatever it ran into."""
    if ev.lag_s >= LATE_RESPONSE_S:
        return "latency", 0.8, f"the robot followed its turn commands {ev.lag_s:.1f} s late"
    return None


def _blocked(ev: Evidence) -> Finding | None:
    if ev.ahead_m is not None and ev.ahead_m < FREE_AHEAD_M:
        return "real_obstacle", 0.85, f"something really was {ev.ahead_m:.1f} m ahead (range)"
    return None


def _slipped(ev: Evidence) -> Finding | None:
    if ev.slip is not None and ev.slip >= SLIP_FRACTION:
        return "oil", 0.8, f"the wheels slipped ({100 * ev.slip:.0f}% of moving time)"
    return None


def _oscillated(ev: Evidence) -> Finding | None:
    if ev.reversals >= OSCILLATION_REVERSALS:
        return "latency", 0.6, f"the heading loop oscillated ({ev.reversals} steering reversals)"
    return None


def _phantom(ev: Evidence) -> Finding | None:
    """What the camera saw that was not there: clipped pixels, a dark band or patch."""
    sat, band = ev.saturation or 0.0, ev.band or 0.0
    free = "" if ev.ahead_m is None else f" while the range sensor saw {ev.ahead_m:.1f} m free"
    if sat >= GLARE_SATURATION:
        conf = min(0.95, 0.6 + 10 * sat)
        return "glare", conf, f"phantom obstacle: {100 * sat:.1f}% of the camera clipped{free}"
    if band >= SPILL_BAND:
        return "oil", 0.7, f"phantom obstacle: a very dark patch across the floor{free}"
    if band >= SHADOW_BAND:
        return "shadow", min(0.9, 0.4 + band), f"phantom obstacle: a dark band on the floor{free}"
    return None


# Which evidence settles each kind of incident first: a stall is a perception stop (a real
# obstacle, else what the camera saw); a safety stop is about range; collisions and navigation
# errors are about the drive.
RULES: dict[str, tuple] = {
    "stall": (_late, _blocked, _phantom, _slipped, _oscillated),
    "estop": (_late, _blocked, _slipped, _oscillated, _phantom),
    "collision": (_late, _slipped, _oscillated, _blocked, _phantom),
    "nav_error": (_late, _slipped, _oscillated, _blocked, _phantom),
}


def decide(kind: str, ev: Evidence) -> Finding:
    """Cause, confidence and a one-line reason from the measured evidence."""
    for rule in RULES.get(kind, RULES["collision"]):
        if found := rule(ev):
            return found
    return "unknown", 0.3, f"no signal explains the {kind}"


def diagnose_incident(req: DiagnoseRequest) -> Diagnosis:
    """Name the most likely cause of an incident from the log around it.

    Use this after the incident window is available locally (pulled from the robot or ingested).
    """
    start = req.time_ns - int(req.before_s * 1e9)
    win = read_window(req.log_path, start, req.time_ns + int(req.after_s * 1e9))
    onset = stop_onset(win.messages["cmd"], req.time_ns)
    look_from = max(start, onset - int(LOOK_BEFORE_STOP_S * 1e9))
    ev, signals = Evidence(), []
    _camera(win, req, look_from, ev, signals)
    _range(win, req, onset, ev, signals)
    _drive(win, ev, signals)
    _text(win, signals)
    cause, confidence, why = decide(req.kind, ev)
    missing = [f"no {role} channel" for role in ("image", "scan", "cmd") if role not in win.topics]
    if missing:
        confidence *= 0.7
    return Diagnosis(
        cause=cause,
        confidence=round(confidence, 2),
        summary=why,
        signals=signals,
        citations=[s.citation for s in signals if s.citation],
        missing=missing,
    )
