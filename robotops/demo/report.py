"""The demo's report: markdown with the incident frame, the verdict, and before/after plots.

Every number is read from the DemoResult the demo computed (which in turn comes from the
fleet's records, the catalog and the judge), never typed in here.
"""

from __future__ import annotations

import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image  # noqa: E402

from robotops.demo.figures import ShiftFigures, change_pct  # noqa: E402
from robotops.demo.models import DemoResult  # noqa: E402

BEFORE_AFTER_ROWS = (
    ("stalls per robot-hour", "stalls_per_robot_hour"),
    ("glare/shadow stalls per robot-hour", "glare_shadow_stalls_per_robot_hour"),
    ("phantom stops", "phantom_stops"),
    ("e-stops", "estops"),
    ("collisions", "collisions"),
    ("missions per robot-hour", "missions_per_robot_hour"),
)


def _clock(t_ns: int) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(t_ns / 1e9))


def before_after_rows(before: ShiftFigures, after: ShiftFigures | None) -> list[dict]:
    """The before/after table as data (the report and --json share it)."""
    rows = []
    for label, key in BEFORE_AFTER_ROWS:
        b = getattr(before, key)
        a = getattr(after, key) if after else None
        rows.append(
            {
                "figure": label,
                "before": b,
                "after": a,
                "change_pct": change_pct(b, a) if a is not None else None,
            }
        )
    return rows


def _plot_before_after(out: Path, before: ShiftFigures, after: ShiftFigures) -> Path:
    keys = BEFORE_AFTER_ROWS[:3]
    fig, axes = plt.subplots(1, len(keys), figsize=(10, 3.2))
    for ax, (label, key) in zip(axes, keys, strict=True):
        values = [getattr(before, key), getattr(after, key)]
        ax.bar(
            [", ".join(before.policy_versions), ", ".join(after.policy_versions)],
            values,
            color=["#b55", "#5a5"],
        )
        ax.set_title(label, fontsize=9)
    fig.suptitle(f"{before.shift_id} (before) vs {after.shift_id} (after)")
    fig.tight_layout()
    path = out / "before_after.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _shift_section(r: DemoResult) -> list[str]:
    s, c = r.shift, r.collected
    lines = [
        f"{s.robots} robots, {s.duration_s / 60:g} simulated minutes, {len(s.incidents)} "
        f"incidents, {s.bytes_logged / 1e6:.1f} MB logged on board.",
        "",
        "| robot | distance m | missions | stalls | e-stops | collisions | nav errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for rid, m in s.per_robot.items():
        lines.append(
            f"| #{rid} | {m['distance_m']:.0f} | {m['missions']:.0f} | {m['stalls']:.0f} | "
            f"{m['estops']:.0f} | {m['collisions']:.0f} | {m['nav_errors']:.0f} |"
        )
    lines += [
        "",
        "## Collected over the site link",
        "",
        f"{c.files} incident windows from {c.robots} robots: {c.bytes_sent / 1e6:.2f} MB sent "
        f"of {c.bytes_logged / 1e6:.1f} MB logged "
        f"({100 * c.bytes_sent / max(c.bytes_logged, 1):.0f} %), "
        f"{c.incidents_covered}/{c.incidents} incidents covered at full fidelity. "
        f"Labels: {', '.join(f'{k} {v}' for k, v in c.labels.items()) or 'none'}.",
    ]
    return lines


def _triage_section(out: Path, r: DemoResult) -> list[str]:
    lines = ["", "## Triage", ""]
    lines.append(
        "Causes over every collected incident: "
        + (", ".join(f"{c} {n}" for c, n in r.causes.items()) or "none")
        + "."
    )
    if r.triage:
        lines += [
            "",
            f"### {r.triage.question[0].upper()}{r.triage.question[1:]}",
            "",
            "```",
            r.triage.text,
            "```",
        ]
        frame = next((x.frame_path for x in r.triage.diagnosis.citations if x.frame_path), None)
        if frame:
            img = Image.open(frame)
            img.resize((img.width * 3, img.height * 3), Image.NEAREST).save(
                out / "incident_frame.png"
            )
            lines += ["", "![the cited camera frame](incident_frame.png)"]
        if r.triage.similar.hits:
            lines += ["", "| similar: robot | time (UTC) | score | why |", "|---|---|---|---|"]
            lines += [
                f"| #{h.doc.robot_id} | {_clock(h.doc.start_ns)} | {h.score:.2f} | {h.why} |"
                for h in r.triage.similar.hits
            ]
    return lines


def _loop_section(r: DemoResult) -> list[str]:
    lines = ["", "## Scenarios, training, validation", ""]
    for f in r.scenarios.get("families", []):
        lines.append(
            f"- scenario family `{f['family']}`: {f['count']} scenarios from {f['incident']}"
        )
    t = r.training
    if t.get("plan"):
        lines.append(f"- training plan: {t['plan']['reason']}")
    if t.get("dataset"):
        d = t["dataset"]
        lines.append(f"- dataset `{d['sha256'][:12]}`: {d['frames']} frames {d['counts']}")
    if t.get("alignment"):
        lines.append(f"- alignment gate: {t['alignment']}")
    if t.get("trained"):
        tr = t["trained"]
        lines.append(
            f"- trained **{tr['version']}** from {tr['parent']} in {tr['seconds']:.0f} s, "
            f"weights `{tr['weights_sha256'][:12]}`"
        )
    v = r.validation.get("verdict")
    if v:
        lines += ["", f"**Judge: {v['verdict'].upper()}** — " + "; ".join(v["reasons"]), ""]
        lines += [
            "| metric | incumbent | candidate | delta | 95% interval |",
            "|---|---|---|---|---|",
        ]
        for d in v["campaign"]:
            if d["delta"] is None:
                continue
            lines.append(
                f"| {d['metric']} | {d['incumbent']:.3g} | {d['candidate']:.3g} | "
                f"{d['delta']:+.3g} | [{d['ci_low']:.3g}, {d['ci_high']:.3g}] |"
            )
        lines += ["", f"Full judge report: {r.validation['report']}"]
    return lines


def _rollout_section(r: DemoResult) -> list[str]:
    lines = ["", "## Rollout and approvals", ""]
    ro = r.rollout
    if ro:
        lines.append(f"- {ro.get('plan', '')}")
        if ro.get("status"):
            lines.append(f"- status: **{ro['status']}**; live: {ro.get('live', {})}")
        if ro.get("waiting_for"):
            lines.append(f"- waiting in the approval inbox for {ro['waiting_for']}")
    for a in r.approvals:
        auto = " (automatic demo approval)" if a.get("decided_by") == "demo-auto-approver" else ""
        lines.append(
            f"- approval {a['id']}: {a['action']} requested by {a['requested_by']}, "
            f"{a['status']}{' by ' + a['decided_by'] if a.get('decided_by') else ''}{auto}"
        )
    return lines


def write_report(out: Path, r: DemoResult) -> Path:
    """Write DIR/report.md (and its images) for a demo run."""
    lines = [f"# robotops demo — seed {r.seed}", ""]
    if r.auto_approve:
        lines += ["> **--auto-approve**: approvals were decided automatically (demo only).", ""]
    lines += _shift_section(r) + _triage_section(out, r) + _loop_section(r) + _rollout_section(r)
    if r.before:
        lines += ["", "## Before / after", ""]
        lines += ["| figure | before | after | change |", "|---|---|---|---|"]
        for row in before_after_rows(r.before, r.after):
            after = "—" if row["after"] is None else f"{row['after']:g}"
            change = "—" if row["change_pct"] is None else f"{row['change_pct']:+.0f} %"
            lines.append(f"| {row['figure']} | {row['before']:g} | {after} | {change} |")
        lines.append(
            f"| bytes uploaded / logged | {r.collected.bytes_sent / 1e6:.2f} / "
            f"{r.collected.bytes_logged / 1e6:.1f} MB | | |"
        )
        for label, fig in (("before", r.before), ("after", r.after)):
            if fig:
                causes = ", ".join(f"{c} {n}" for c, n in fig.incidents_by_cause.items())
                lines.append(f"\nIncidents by true cause {label} (simulator truth): {causes}.")
        if r.after:
            lines += ["", f"![before and after]({_plot_before_after(out, r.before, r.after).name})"]
    if r.stopped_at:
        lines += ["", f"**The loop stopped at {r.stopped_at}.**"]
    lines += ["", "## Wall time per phase", ""] + [
        f"- {k}: {v:.1f} s" for k, v in r.phases_s.items()
    ]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path
