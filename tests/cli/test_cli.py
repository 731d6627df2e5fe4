"""The CLI as a user meets it: help everywhere, JSON for scripts, one-line errors."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from robotops.cli import app

runner = CliRunner()


def all_command_paths() -> list[list[str]]:
    root = typer.main.get_command(app)
    paths: list[list[str]] = []

    def walk(cmd, prefix: list[str]) -> None:
        paths.append(prefix)
        if hasattr(cmd, "commands"):  # a group (typer may vendor its own click)
            for name, sub in cmd.commands.items():
                walk(sub, [*prefix, name])

    walk(root, [])
    return paths


@pytest.mark.parametrize("path", all_command_paths(), ids=lambda p: " ".join(p) or "robotops")
def test_every_command_has_help(path):
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_simulate_json_is_machine_readable(tmp_path):
    result = runner.invoke(
        app,
        [
            "fleet",
            "simulate",
            "--robots",
            "1",
            "--minutes",
            "0.1",
            "--hazards",
            "",
            "--workers",
            "1",
            "--out",
            str(tmp_path),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["shift_id"] == "shift-001" and summary["robots"] == 1


def test_bad_input_is_one_clear_line_and_exit_2(tmp_path):
    result = runner.invoke(app, ["fleet", "simulate", "--hazards", "lava", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "unknown hazard" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "robots").exists()


def test_fleet_down_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("ROBOTOPS_FLEET__URL", "http://127.0.0.1:9")
    monkeypatch.setenv("ROBOTOPS_FLEET__RETRIES", "0")
    monkeypatch.setenv("ROBOTOPS_FLEET__TIMEOUT_S", "1")
    result = runner.invoke(app, ["fleet", "robots"])
    assert result.exit_code == 2
    assert "127.0.0.1:9" in result.output


def test_policies_list_shows_the_baseline():
    result = runner.invoke(app, ["policies", "list", "--json"])
    assert result.exit_code == 0
    assert [c["version"] for c in json.loads(result.stdout)] == ["v1"]
