"""Durable runs: a run SIGKILLed mid-way in one process resumes in another from its last
checkpoint, with nothing lost and no side effect repeated (one approval request, one deploy).

The SIGKILL tests start real child processes (each imports the whole stack, ~10 s each) and run
in the default suite; a deploy replayed from the checkpoint before it checks the same property
in-process, which is exactly what a resume does after a crash between the side effect and its
checkpoint.
"""

from __future__ import annotations

import sqlite3
import time

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.types import Command

from robotops.agents.checkpoints import open_checkpointer
from robotops.agents.deps import AgentDeps
from robotops.agents.graph import build_graph
from robotops.agents.runner import config, continue_thread, open_graph, outcome
from robotops.errors import ConfigError
from robotops.evals.adversarial import _child, _finish, crash_run
from robotops.memory.approval_models import Actor, Decision
from robotops.settings import AgentSettings, Settings
from robotops.tools.context import ToolContext

RAJ = Actor(name="raj", role="approver")


def _checkpoints(db, thread: str) -> int:
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute(
                "select count(*) from checkpoints where thread_id = ?", (thread,)
            ).fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def test_a_triage_killed_after_its_first_checkpoint_resumes_in_a_new_process(injected):
    url = injected.settings.fleet.url
    proc = _child(injected.root, url, "start", "kill-1", "why did #101 stall?")
    db = injected.settings.data_dir / "checkpoints.db"
    deadline = time.monotonic() + 60
    while _checkpoints(db, "kill-1") < 2 and proc.poll() is None:  # input + route written
        assert time.monotonic() < deadline, "no checkpoint written in 60 s"
        time.sleep(0.01)
    proc.kill()
    proc.communicate()
    final = _finish(_child(injected.root, url, "continue", "kill-1", "why did #101 stall?"))
    assert final["status"] == "done" and not final.get("error"), final.get("error")
    assert "triage" in final, {k: str(v)[:300] for k, v in final.items()}
    assert final["triage"]["incident"]["incident_id"] == "inc-101-1"
    assert final["findings"]["triage"]["ok"]


def test_a_deploy_killed_mid_way_is_resumed_without_deploying_twice(injected):
    run = crash_run(injected.root, injected.settings.fleet.url, "deploy", "kill-2", 2.5)
    assert not run.lost and not run.repeated, run.detail
    assert injected.versions()["102"] == "v9" and list(injected.deployments()) == ["kill-2-deploy"]


def test_a_deploy_replayed_from_the_checkpoint_before_it_deploys_once(injected):
    cfg = config("replay-1")
    with open_graph(injected.settings) as graph:
        asked = graph.invoke({"question": "deploy v9 to #102"}, cfg)
        ctx = ToolContext(injected.settings)
        ctx.approvals.decide(asked["approval_id"], Decision(approve=True), RAJ)
        graph.invoke(Command(resume={"approve": True}), cfg)
        before_deploy = next(s for s in graph.get_state_history(cfg) if s.next == ("deploy",))
        replayed = graph.invoke(None, before_deploy.config)  # as a resume after a crash would
    assert replayed["deployment"]["deployment_id"] == "replay-1-deploy"
    assert list(injected.deployments()) == ["replay-1-deploy"]
    assert injected.versions() == {"101": "v1", "102": "v9"}
    keys = [
        e.detail["key"]
        for e in ctx.approvals.store.audit_log()
        if e.event == "authorized" and e.request_id == asked["approval_id"]
    ]
    assert keys == ["replay-1-deploy", "replay-1-deploy"]  # the same action, twice: one effect
    assert [a.status for a in ctx.approvals.store.list()] == ["used"]


class Crash(BaseException):
    """The process dies: nothing after this point runs."""


class DiesAfterRouting(SqliteSaver):
    """Saves the route node's writes, then dies before the checkpoint that follows them."""

    def put(self, config, checkpoint, metadata, new_versions):
        if metadata.get("step") == 1:
            raise Crash
        return super().put(config, checkpoint, metadata, new_versions)


def test_a_run_cut_short_after_a_node_saved_its_writes_is_continued(injected):
    db = injected.settings.data_dir / "checkpoints.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db, check_same_thread=False)
    dying = build_graph(AgentDeps(ctx=ToolContext(injected.settings)), DiesAfterRouting(conn))
    with pytest.raises(Crash):
        dying.invoke({"question": "why did #101 stall?"}, config("cut-1"))
    conn.close()
    with open_graph(injected.settings) as graph:
        assert graph.get_state(config("cut-1")).next == ()  # looks finished, but is not
        assert outcome(graph, "cut-1")["status"] == "incomplete"
        assert continue_thread(graph, "cut-1")
        done = outcome(graph, "cut-1")
    assert done["status"] == "done" and done["triage"]["robot_id"] == "101"


def test_checkpoint_stores_are_chosen_by_url(tmp_path):
    with open_checkpointer(Settings(data_dir=tmp_path)) as saver:
        assert type(saver).__name__ == "SqliteSaver"
    assert (tmp_path / "checkpoints.db").is_file()
    url = Settings(data_dir=tmp_path, agents=AgentSettings(checkpoint_url="postgresql://db/x"))
    with (
        pytest.raises(ConfigError, match="langgraph-checkpoint-postgres is not installed"),
        open_checkpointer(url),
    ):
        pass
    bad = Settings(data_dir=tmp_path, agents=AgentSettings(checkpoint_url="mysql://db"))
    with (
        pytest.raises(ConfigError, match="neither sqlite:///PATH nor postgresql"),
        open_checkpointer(bad),
    ):
        pass
