"""``robotops label``, ``robotops labels ...`` and ``robotops eval labeler`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from labeling_support import write_camera_log
from typer.testing import CliRunner

from robotops.cli import app

runner = CliRunner()


def invoke(*args: object) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def test_label_search_quarantine_through_the_cli(
    scenes: dict[str, np.ndarray], tmp_path: Path
) -> None:
    log = write_camera_log(tmp_path / "104.mcap", scenes, ["glare", "plain", "corrupt"])
    code, _, err = invoke("ingest", log.path, "--json")
    assert code == 0, err
    code, out, err = invoke("label", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert (result["labeled"], result["failed"]) == (2, 1) and result["labels"]["glare"] == 1
    version = result["labeler_version"]
    code, out, _ = invoke("label")
    assert code == 0 and "labeled 0 of 1 pending" in out and "undecodable" in out

    code, out, _ = invoke("search", "lens flare", "--label", "glare", "--json")
    assert code == 0 and len(json.loads(out)["hits"]) == 1
    code, out, _ = invoke("labels", "list", "--json")
    (info,) = json.loads(out)
    assert info["version"] == version and info["segments"] == 2 and info["errors"] == 1

    code, out, _ = invoke("labels", "quarantine", version, "--reason", "test", "--json")
    assert code == 0 and json.loads(out)["datasets_affected"] == []
    code, out, _ = invoke("labels", "list")
    assert out.startswith(f"QUARANTINED  {version}")
    code, out, _ = invoke("search", "lens flare", "--label", "glare", "--json")
    assert json.loads(out)["hits"] == []
    code, out, err = invoke("label")
    assert code == 2 and "quarantined" in err and "Traceback" not in out + err


def test_misconfigured_backends_exit_2_with_one_line() -> None:
    code, out, err = invoke("label", "--backend", "clip")
    assert code == 2 and "CLIP_MODEL_DIR" in err and "Traceback" not in out + err
    code, _, err = invoke("label", "--backend", "magic")
    assert code == 2 and "known: clip, embedded, openai" in err


def test_eval_labeler_prints_scores() -> None:
    code, out, err = invoke(
        "eval", "labeler", "--frames", "12", "--degraded", "8", "--no-search", "--json"
    )
    assert code == 0, err
    result = json.loads(out)
    assert {s["label"] for s in result["scores"]} >= {"glare", "hard_shadow", "low_light"}
    assert set(result["goals_met"]) == {"glare", "hard_shadow"} and result["seed"] == 777
