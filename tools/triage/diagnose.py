"""The triage procedure: measure signals around an incident, then name the most likely cause.

It separates a phantom obstacle (perception says stop, range says the way is free) from a real
one, and attributes phantoms to what the camera shows: clipped pixels (glare) or a dark band
across the floor (a hard shadow, or a dark spill when the robot also slips). Motion problems
come from the drive: wheel slip (oil) and steering reversals (a laggy motor controller).
Text inside the log (event details, diagnostics) is read as evidence only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from robotops.tools.triage.models import Citation, DiagnoseRequest, Diagnosis, Signal
from robotops.tools.triage.signals import (
    Window,
    dark_band,
    decode_image,
    front_range,
    read_window,
    saturation,
    steering_reversals,
)

FREE_AHEAD_M = 2.3
GLARE_SATURATION = 0.002
SHADOW_BAND = 0.2
OIL_BAND = 0.65  # a film of oil is darker than any shadow the lights here throw
OSCILLATION_REVERSALS = 3


def _cite(win: Window, role: str, start: int, end: int, frame: str | None = None) -> Citation:
    return Citation(
        log=win.log, topic=win.topics.get(role, "?"), start_ns=start, end_ns=end, frame_path=frame
    )


def _camera(win: Window, req: DiagnoseRequest, signals: list[Signal]) -> tuple[float, float, float]:
    """Peak saturation, darkest floor band and its tint over the frames before the incident."""
    picked = [(t, m) for t, m in win.messages["image"] if t <= req.time_ns]
    if not picked:
        return 0.0, 0.0, 1.0
    images = [(t, decode_image(m)) for t, m in picked]
    sats = [saturation(img) for _, img in images]
    bands = [dark_band(img) for _, img in images]
    depths = [b[0] for b in bands]
    worst = int(np.argmax(np.array(sats) * 20 + np.array(depths)))
    frame_path = None
    if req.frames_dir:
        Path(req.frames_dir).mkdir(parents=True, exist_ok=True)
        frame_path = str(Path(req.frames_dir) / f"frame_{images[worst][0]}.png")
        Image.fromarray(images[worst][1]).save(frame_path)
    cite = _cite(win, "image", picked[0][0], picked[-1][0], frame_path)
    signals.append(
        Signal(
            name="camera_saturation",
            value=max(sats),
            citation=cite,
            note=f"up to {100 * max(sats):.1f}% of pixels clipped",
        )
    )
    depth, tint = bands[int(np.argmax(depths))]
    signals.append(
        Signal(
            name="floor_dark_band",
            value=depth,
            citation=cite,
            note=f"darkest band across the floor {100 * depth:.0f}% below its surroundings",
        )
    )
    signals.append(
        Signal(
            name="floor_band_tint",
            value=tint,
            citation=cite,
            note=f"the band's blue/red balance is {tint:.2f}x the floor's",
        )
    )
    return max(sats), depth, tint


def _range(win: Window, req: DiagnoseRequest, signals: list[Signal]) -> float | None:
    scans = [(t, m) for t, m in win.messages["scan"] if t <= req.time_ns]
    if not scans:
        return None
    recent = scans[-10:]
    ahead = float(np.median([front_range(m) for _, m in recent]))
    signals.append(
        Signal(
            name="free_range_ahead_m",
            value=ahead,
            citation=_cite(win, "scan", recent[0][0], recent[-1][0]),
            note=f"range sensor sees {ahead:.1f} m free straight ahead",
        )
    )
    return ahead


def _drive(win: Window, req: DiagnoseRequest, signals: list[Signal]) -> tuple[bool, int]:
    events = win.messages["events"]
    slip = any("slip" in getattr(e, "detail", "") for _, e in events)
    reversals = steering_reversals(win.messages["cmd"])
    if win.messages["cmd"]:
        cmds = win.messages["cmd"]
        signals.append(
            Signal(
                name="steering_reversals",
                value=reversals,
                citation=_cite(win, "cmd", cmds[0][0], cmds[-1][0]),
                note=f"{reversals} reversals of the commanded turn rate",
            )
        )
    if events:
        kinds = ", ".join(sorted({getattr(e, "kind", "?") for _, e in events}))
        signals.append(
            Signal(
                name="wheel_slip_reported",
                value=float(slip),
                citation=_cite(win, "events", events[0][0], events[-1][0]),
                note=f"events in window: {kinds}",
            )
        )
    return slip, reversals


def _perception(win: Window, req: DiagnoseRequest, signals: list[Signal]) -> float | None:
    det = [(t, m) for t, m in win.messages["perception"] if t <= req.time_ns]
    if not det:
        return None
    peak = max(float(m.probability) for _, m in det)
    signals.append(
        Signal(
            name="perception_obstacle_probability",
            value=peak,
            citation=_cite(win, "perception", det[0][0], det[-1][0]),
            note=f"perception reported an obstacle with p up to {peak:.2f}",
        )
    )
    return peak


def _decide(
    kind: str, ahead: float | None, sat: float, band: float, slip: bool, reversals: int
) -> tuple[str, float, str]:
    if kind != "stall":  # a drive problem, not a perception one
        if slip:
            return "oil", 0.85, "the wheels slipped: encoders and localisation disagree"
        if reversals >= OSCILLATION_REVERSALS:
            return "latency", 0.8, f"the heading loop oscillated ({reversals} steering reversals)"
        if ahead is not None and ahead < FREE_AHEAD_M:
            return "real_obstacle", 0.7, f"something was {ahead:.1f} m ahead (range sensor)"
        return "unknown", 0.3, "neither slip, oscillation nor an obstacle explains it"
    if ahead is not None and ahead < FREE_AHEAD_M:
        return "real_obstacle", 0.85, f"something really was {ahead:.1f} m ahead (range sensor)"
    free = "" if ahead is None else f" while the range sensor saw {ahead:.1f} m free"
    if sat >= GLARE_SATURATION:
        conf = min(0.95, 0.6 + 10 * sat)
        return "glare", conf, f"phantom obstacle: {100 * sat:.1f}% of the camera clipped{free}"
    if band >= OIL_BAND or (band >= SHADOW_BAND and slip):
        return "oil", 0.7, f"phantom obstacle: a very dark patch across the floor{free}"
    if band >= SHADOW_BAND:
        return (
            "shadow",
            min(0.9, 0.5 + band),
            f"phantom obstacle: a hard dark band across the floor{free}",
        )
    if slip:
        return "oil", 0.6, "wheel slip around the incident"
    if reversals >= OSCILLATION_REVERSALS:
        return "latency", 0.6, f"the heading loop oscillated ({reversals} steering reversals)"
    return "unknown", 0.3, f"no signal explains the stop{free}"


def diagnose_incident(req: DiagnoseRequest) -> Diagnosis:
    """Name the most likely cause of an incident from the log around it.

    Use this after the incident window is available locally (pulled from the robot or ingested).
    """
    start = req.time_ns - int(req.before_s * 1e9)
    win = read_window(req.log_path, start, req.time_ns + int(req.after_s * 1e9))
    signals: list[Signal] = []
    sat, band, _tint = _camera(win, req, signals)
    ahead = _range(win, req, signals)
    slip, reversals = _drive(win, req, signals)
    _perception(win, req, signals)
    cause, confidence, why = _decide(req.kind, ahead, sat, band, slip, reversals)
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
