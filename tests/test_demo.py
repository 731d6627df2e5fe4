"""The README's demo, quick size: a shift, incidents, #104's window pulled home, a report."""

from __future__ import annotations

import json

from mcap.reader import make_reader
from typer.testing import CliRunner

from robotops.cli import app
from robotops.settings import get_settings


def test_quick_demo_runs_end_to_end():
    result = CliRunner().invoke(app, ["demo", "--quick", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    incident = out["triage"]["incident"]
    assert incident["robot_id"] == "104" and incident["kind"] == "stall"
    collected = out["collected"]
    assert collected["incidents_covered"] == collected["incidents"] > 0
    assert 0 < collected["bytes_sent"] < collected["bytes_logged"]
    assert out["triage"]["diagnosis"]["cause"] == "glare"  # #104 works beside the flaring vest
    assert "Most likely cause: glare" in out["triage"]["text"]
    assert out["triage"]["similar"]["hits"], "search found nothing similar"
    demo_dir = get_settings().data_dir / "demo"
    for pulled in (demo_dir / "pulled" / "104").glob("*.mcap"):
        with open(pulled, "rb") as f:
            summary = make_reader(f).get_summary()
        assert summary is not None and summary.statistics.message_count > 0
    report = (demo_dir / "report.md").read_text()
    assert (
        "Why did #104 stall?" in report and (demo_dir / "incident_frame.png").stat().st_size > 1000
    )
