"""``robotops ask`` (threads and follow-ups) and ``robotops nightly`` as a user runs them."""

from __future__ import annotations

import json

import pytest
import stand_ins
from typer.testing import CliRunner

from robotops.agents import runner as runner_module
from robotops.cli import app
from robotops.settings import get_settings

runner = CliRunner()


@pytest.fixture
def env(injected, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ROBOTOPS_DATA_DIR", str(injected.settings.data_dir))
    monkeypatch.setenv("ROBOTOPS_FLEET__URL", injected.settings.fleet.url)
    get_settings.cache_clear()
    return injected


def test_ask_answers_and_follows_up_in_the_same_thread(env):
    first = runner.invoke(app, ["ask", "why did #101 stall?", "--json"])
    assert first.exit_code == 0, first.output
    answer = json.loads(first.stdout)
    assert answer["status"] == "done" and answer["triage"]["robot_id"] == "101"
    follow = runner.invoke(app, ["ask", "show similar incidents", "--thread", answer["thread_id"]])
    assert follow.exit_code == 0 and follow.stdout.startswith("Segments like #101's")
    unknown = runner.invoke(app, ["ask", "why did #999 stall?"])
    assert unknown.exit_code == 2 and "no known robot named" in unknown.output


def test_nightly_prints_where_it_stopped(env, monkeypatch: pytest.MonkeyPatch):
    toolsets = stand_ins.install(monkeypatch, [], verdict_kind="reject")
    # the CLI opens its graph itself: hand it this test's toolsets
    monkeypatch.setattr(runner_module, "default_toolsets", lambda: toolsets)
    result = runner.invoke(app, ["nightly"])
    assert result.exit_code == 0, result.output
    assert "[triage] #101 stalled" in result.stdout
    assert "stopped at await_compute_approval: approve or reject apr-" in result.stdout
    again = runner.invoke(app, ["nightly", "--json"])
    assert json.loads(again.stdout)["answer"] == "no new incidents: nothing to triage"
