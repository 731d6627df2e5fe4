"""Plan what a robot sends over a thin site link: incident windows first, thinned context after.

The planner runs where the log is, on the robot's side of the link, and reads only the MCAP
index: the cost of every candidate window comes from ``size_index`` and the incidents from the
log's event channels (``log_events``), which touches only the chunks that hold events.
Nothing is silently dropped: whatever is not sent is listed as ``left`` and stays requestable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from robotops.errors import InvalidRequestError
from robotops.sim.fleet.models import PlanEvent, PlanItem, UploadPlan, UploadPlanRequest
from robotops.sim.logs.size_index import LogIndex, index_log

_KIND_RANK = {"collision": 4, "estop": 3, "nav_error": 2, "stall": 1}
_SEVERITY_RANK = {"fatal": 4, "error": 3, "warn": 2, "warning": 2, "info": 1, "debug": 0}
_CONTEXT_RESERVE = 0.03
NS = 1_000_000_000


def plan_upload(
    logs: Sequence[Path],
    request: UploadPlanRequest,
    link_speed_bps: int,
    robot_id: str = "",
) -> UploadPlan:
    """Plan what to send of ``logs`` within the request's budget, most important first.

    Use it on the robot side before anything crosses the link. Incident windows go first at
    full fidelity; if they do not all fit, every window gets a thinned copy first (most severe,
    then most recent first) and is upgraded to full fidelity in the same order while the budget
    lasts, and the plan says so in ``warnings``. Context at reduced fidelity fills the rest,
    nearest the incidents first. The rest is listed as ``left`` (full fidelity, requestable).

    Raises:
        InvalidRequestError: neither a budget nor a deadline, or no logs.
        NotFoundError / LogFormatError: a log is missing or unreadable.
    """
    if request.budget_bytes is None and request.deadline_s is None:
        raise InvalidRequestError(
            "an upload plan needs a byte budget (budget_bytes) or a deadline (deadline_s)"
        )
    if not logs:
        raise InvalidRequestError(f"no logs to plan an upload from on robot {robot_id!r}")
    budgets = [b for b in (request.budget_bytes,) if b is not None]
    if request.deadline_s is not None:
        budgets.append(int(request.deadline_s * link_speed_bps))
    budget = min(budgets)
    indexes = [index_log(Path(p), request.context) for p in logs]
    planner = _Planner(indexes, request, budget)
    items = planner.plan()
    return _summarise(items, indexes, request, budget, link_speed_bps, robot_id, planner)


# --- planning -------------------------------------------------------------------------------


@dataclass
class _Window:
    """A candidate item in half-open log time ``[start, stop)``."""

    log: LogIndex
    start: int
    stop: int
    events: list[PlanEvent]
    full: int = 0
    reduced: int = 0
    fidelity: str | None = None  # chosen: "full", "context" or None (left)

    def priority(self) -> tuple[int, int, int]:
        """Most severe first, then most recent."""
        return (
            max(_SEVERITY_RANK.get(e.severity.lower(), 1) for e in self.events),
            max(_KIND_RANK.get(e.kind, 0) for e in self.events),
            max(e.time_ns for e in self.events),
        )


class _Planner:
    def __init__(self, logs: list[LogIndex], request: UploadPlanRequest, budget: int) -> None:
        self.logs, self.request, self.budget = logs, request, budget
        self.left_budget = budget
        self.warnings: list[str] = []
        self.windows: list[_Window] = []
        self.context: list[_Window] = []

    def plan(self) -> list[PlanItem]:
        self.windows = sorted(self._incident_windows(), key=_Window.priority, reverse=True)
        self._fit_incidents()
        self._fit_context()
        return self._items()

    def _incident_windows(self) -> list[_Window]:
        if not self.request.incidents:
            return []
        kinds = set(self.request.incident_kinds)
        pre, post = int(self.request.pre_s * NS), int(self.request.post_s * NS)
        windows: list[_Window] = []
        for log in self.logs:
            current: _Window | None = None
            for event in sorted((e for e in log.events if e.kind in kinds), key=_time):
                start = max(event.time_ns - pre, log.start_ns)
                stop = min(event.time_ns + post, log.end_ns) + 1
                if current is not None and start <= current.stop:
                    current.stop = max(current.stop, stop)
                    current.events.append(event)
                    continue
                current = _Window(log, start, stop, [event])
                windows.append(current)
        for w in windows:
            w.full = w.log.estimate(w.start, w.stop, "full")
            w.reduced = w.log.estimate(w.start, w.stop, "context")
        return windows

    def _fit_incidents(self) -> None:
        needed = sum(w.full for w in self.windows)
        if needed <= self.left_budget:
            for w in self.windows:
                w.fidelity = "full"
            self.left_budget -= needed
            return
        # Too little for every window at full fidelity: coverage first, then detail.
        for w in self.windows:
            if w.reduced <= self.left_budget:
                w.fidelity, self.left_budget = "context", self.left_budget - w.reduced
        for w in self.windows:
            extra = w.full - (w.reduced if w.fidelity == "context" else 0)
            if extra <= self.left_budget:
                w.fidelity, self.left_budget = "full", self.left_budget - extra
        full = sum(len(w.events) for w in self.windows if w.fidelity == "full")
        thin = sum(len(w.events) for w in self.windows if w.fidelity == "context")
        left = sum(len(w.events) for w in self.windows if w.fidelity is None)
        total = sum(len(w.events) for w in self.windows)
        self.warnings.append(
            f"budget too small for the incident windows: they need {_mb(needed)} at full "
            f"fidelity, the budget is {_mb(self.budget)}; sending {full} of {total} incidents "
            f"at full fidelity, {thin} thinned, {left} not at all (most severe, then most "
            "recent first); the rest stays on the robot: raise the budget or request the "
            "left items later"
        )

    def _fit_context(self) -> None:
        cap = self.request.context_budget_bytes
        # Keep a small reserve: estimates are good to a few percent, budgets are promises.
        room = self.left_budget - int(_CONTEXT_RESERVE * self.budget)
        room = room if cap is None else min(room, cap)
        segment = int(self.request.context_segment_s * NS)
        candidates: list[tuple[int, _Window]] = []
        for log in self.logs:
            taken = sorted((w.start, w.stop) for w in self.windows if w.log is log)
            anchors = [e.time_ns for w in self.windows if w.log is log for e in w.events]
            for start, stop in _gaps(log.start_ns, log.end_ns + 1, taken):
                for s, e in _segments(start, stop, segment):
                    piece = _Window(log, s, e, [])
                    piece.reduced = log.estimate(piece.start, piece.stop, "context")
                    middle = (piece.start + piece.stop) // 2
                    distance = (
                        min(abs(middle - a) for a in anchors) if anchors else log.end_ns - middle
                    )
                    candidates.append((distance, piece))
        candidates.sort(key=lambda c: (c[0], -c[1].start))
        chosen = []
        for _, piece in candidates:
            if piece.reduced <= room:
                room -= piece.reduced
                self.left_budget -= piece.reduced
                chosen.append(piece)
        self.context = _merge(chosen)
        spent = sum(p.reduced for p in chosen) - sum(c.reduced for c in self.context)
        self.left_budget += spent  # merging saved per-file overheads
        if len(chosen) < len(candidates):
            order = "nearest the incidents" if self.windows else "most recent"
            self.warnings.append(
                f"context sent for {len(chosen)} of {len(candidates)} segments of "
                f"{self.request.context_segment_s:g} s ({order} first); "
                "the rest stays on the robot"
            )

    def _items(self) -> list[PlanItem]:
        items = []
        for w in self.windows:
            if w.fidelity is not None:
                note = "" if w.fidelity == "full" else "thinned: full window did not fit"
                size = w.full if w.fidelity == "full" else w.reduced
                items.append(_item(w, "incident", "send", w.fidelity, size, note))
        for c in self.context:
            items.append(_item(c, "context", "send", "context", c.reduced, ""))
        items.extend(self._left_items())
        return items

    def _left_items(self) -> list[PlanItem]:
        """What is not sent at full fidelity, as full-fidelity items one can request later.

        Each incident window that did not go at full fidelity is its own item; the spans between
        are split where a thinned copy starts or stops, so each item's note is exact.
        """
        items: list[PlanItem] = []
        for log in self.logs:
            windows = [w for w in self.windows if w.log is log]
            full = [(w.start, w.stop) for w in windows if w.fidelity == "full"]
            thinned = [(w.start, w.stop) for w in windows if w.fidelity == "context"]
            thinned += [(c.start, c.stop) for c in self.context if c.log is log]
            points = {log.start_ns, log.end_ns + 1}
            points.update(
                p for a, b in [*thinned, *((w.start, w.stop) for w in windows)] for p in (a, b)
            )
            pieces: list[tuple[int, int, _Window | None, bool]] = []
            for a, b in zip(sorted(points), sorted(points)[1:], strict=False):
                if any(s <= a and b <= e for s, e in full):
                    continue
                owner = next((w for w in windows if w.start <= a and b <= w.stop), None)
                covered = any(s <= a and b <= e for s, e in thinned)
                last = pieces[-1] if pieces else None
                if last and last[1] == a and last[2] is owner and last[3] == covered:
                    pieces[-1] = (last[0], b, owner, covered)
                else:
                    pieces.append((a, b, owner, covered))
            for a, b, owner, covered in pieces:
                window = _Window(log, a, b, owner.events if owner else [])
                note = "thinned copy sent" if covered else "nothing sent"
                role = "incident" if owner else "context"
                items.append(_item(window, role, "left", "full", log.estimate(a, b, "full"), note))
        return items


def _summarise(items, indexes, request, budget, link_speed, robot_id, planner) -> UploadPlan:
    send = [i for i in items if i.action == "send"]
    send_bytes = sum(i.estimated_bytes for i in send)
    windows = planner.windows

    def events(fidelity):
        return sum(len(w.events) for w in windows if w.fidelity == fidelity)

    return UploadPlan(
        robot_id=robot_id,
        logs={i.name: i.size_bytes for i in indexes},
        request=request,
        link_speed_bps=link_speed,
        budget_bytes=budget,
        items=items,
        send_bytes=send_bytes,
        incident_bytes=sum(i.estimated_bytes for i in send if i.role == "incident"),
        context_bytes=sum(i.estimated_bytes for i in send if i.role == "context"),
        left_bytes=sum(i.estimated_bytes for i in items if i.action == "left"),
        estimated_transfer_s=round(send_bytes / max(link_speed, 1), 3),
        incidents_total=sum(len(w.events) for w in windows),
        incidents_full=events("full"),
        incidents_reduced=events("context"),
        incidents_left=events(None),
        budget_exceeded=any(w.fidelity != "full" for w in windows),
        warnings=planner.warnings,
    )


def _item(w: _Window, role, action, fidelity, size: int, note: str) -> PlanItem:
    return PlanItem(
        log_name=w.log.name,
        role=role,
        action=action,
        fidelity=fidelity,
        start_ns=w.start,
        end_ns=w.stop - 1,
        estimated_bytes=size,
        events=sorted(w.events, key=_time),
        note=note,
    )


def _gaps(start: int, stop: int, taken: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of ``[start, stop)`` outside the sorted, disjoint ``taken`` intervals."""
    gaps, cursor = [], start
    for s, e in taken:
        if s > cursor:
            gaps.append((cursor, min(s, stop)))
        cursor = max(cursor, e)
    if cursor < stop:
        gaps.append((cursor, stop))
    return [(s, e) for s, e in gaps if e > s]


def _segments(start: int, stop: int, length: int) -> list[tuple[int, int]]:
    """``[start, stop)`` in pieces of ``length``; a short tail joins the piece before it."""
    pieces = [(s, min(s + length, stop)) for s in range(start, stop, length)]
    if len(pieces) > 1 and pieces[-1][1] - pieces[-1][0] < length // 2:
        pieces[-2:] = [(pieces[-2][0], stop)]
    return pieces


def _merge(pieces: list[_Window]) -> list[_Window]:
    """Join adjacent context pieces of one log into one item (one file, one overhead)."""
    merged: list[_Window] = []
    for piece in sorted(pieces, key=lambda p: (p.log.name, p.start)):
        last = merged[-1] if merged else None
        if last is not None and last.log is piece.log and last.stop == piece.start:
            last.stop = piece.stop
        else:
            merged.append(_Window(piece.log, piece.start, piece.stop, [], fidelity="context"))
    for m in merged:
        m.reduced = m.log.estimate(m.start, m.stop, "context")
    return merged


def _mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB"


def _time(event: PlanEvent) -> int:
    return event.time_ns
