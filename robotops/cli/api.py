"""``robotops serve``, ``robotops ask`` and ``robotops inbox ...``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import httpx
import typer

from robotops.cli.base import JsonOpt, app, clean_errors, console, emit_json
from robotops.errors import FleetUnavailableError, InvalidRequestError
from robotops.settings import Settings, get_settings

if TYPE_CHECKING:
    from robotops.agents.schedule import CronThread

inbox_app = typer.Typer(
    help="The approval inbox, through the API (ROBOTOPS_API__URL/TOKEN).", no_args_is_help=True
)
app.add_typer(inbox_app, name="inbox")


@app.command()
@clean_errors
def serve(
    host: Annotated[str | None, typer.Option(help="Interface (default from settings).")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port (default from settings).")] = None,
) -> None:
    """Serve the product API: chat, approvals inbox, search, tools (tokens in DATA_DIR).

    With ROBOTOPS_NIGHTLY_CRON set (e.g. '0 2 * * *', UTC), the nightly flywheel also runs on
    that schedule in the background.
    """
    import uvicorn

    from robotops.api.app import build_deps, create_app

    settings = get_settings()
    deps = build_deps(settings)
    console.print(f"API tokens (one per role) are in {settings.tokens_path()}")
    host, port = host or settings.api.host, port or settings.api.port
    console.print(f"pages at http://{host}:{port}/ui (log in with a token), OpenAPI at /docs")
    cron = start_nightly_schedule(settings)
    try:
        uvicorn.run(create_app(deps), host=host, port=port)
    finally:
        if cron is not None:
            cron.stop()


def start_nightly_schedule(settings: Settings) -> CronThread | None:
    """Start the nightly flywheel on ``settings.nightly_cron``, if one is set."""
    if not settings.nightly_cron:
        return None
    from robotops.agents.nightly import run_nightly
    from robotops.agents.schedule import CronThread

    console.print(f"nightly flywheel scheduled: {settings.nightly_cron} (UTC)")
    return CronThread(settings.nightly_cron, lambda: run_nightly(settings)).start()


@app.command()
@clean_errors
def ask(
    question: Annotated[str, typer.Argument(help='e.g. "why did #104 stall?"')],
    thread: Annotated[
        str | None,
        typer.Option(help="Continue a conversation (follow-ups: 'show similar incidents')."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Ask the agents about the fleet, here, over the fleet API (same graph as the chat API)."""
    import uuid

    from robotops.agents.runner import config, open_graph, outcome

    settings = get_settings()
    thread_id = thread or f"cli-{uuid.uuid4().hex[:12]}"
    with open_graph(settings, actor="cli") as graph, console.status("thinking"):
        graph.invoke({"question": question}, config(thread_id))
        result = outcome(graph, thread_id)
    if as_json:
        emit_json(result)
        return
    if result.get("error"):
        raise InvalidRequestError(result["error"])
    typer.echo(result.get("answer", ""))
    if result["status"] == "waiting":
        typer.echo(f"waiting for approval {result['approval_id']} (robotops inbox show ...)")
    console.print(f"thread {thread_id} (follow up with --thread {thread_id})")


def _api(method: str, path: str, **kw: Any) -> Any:
    settings = get_settings()
    if not settings.api.token:
        raise InvalidRequestError(f"set ROBOTOPS_API__TOKEN (tokens: {settings.tokens_path()})")
    try:
        r = httpx.request(
            method,
            settings.api.url + path,
            timeout=30,
            headers={"Authorization": f"Bearer {settings.api.token}"},
            **kw,
        )
    except httpx.TransportError as exc:
        raise FleetUnavailableError(
            f"robotops API at {settings.api.url} unreachable: {exc}"
        ) from exc
    if r.status_code >= 400:
        raise InvalidRequestError(f"{r.status_code}: {r.json().get('detail', r.text)}")
    return r.json()


@inbox_app.command("list")
@clean_errors
def inbox_list(
    status: Annotated[
        str | None, typer.Option(help="pending, approved, rejected, used")
    ] = "pending",
    as_json: JsonOpt = False,
) -> None:
    """List approval requests."""
    items = _api("GET", "/approvals", params={"status": status} if status else None)
    if as_json:
        emit_json(items)
        return
    for a in items:
        typer.echo(
            f"{a['id']}  {a['status']:8s} {a['action']:13s} {a['artifact_sha256'][:12]} "
            f"{','.join(a['targets'])}  by {a['requested_by']}: {a['reason']}"
        )


@inbox_app.command("show")
@clean_errors
def inbox_show(request_id: str, as_json: JsonOpt = False) -> None:
    """Show one request: what is asked, why, the evidence, the artifact hash and the risk."""
    a = _api("GET", f"/approvals/{request_id}")
    if as_json:
        emit_json(a)
        return
    for key in ("id", "status", "action", "artifact_sha256", "targets", "risk", "reason"):
        typer.echo(f"{key:16s} {a[key]}")
    typer.echo(f"{'requested_by':16s} {a['requested_by']} (thread {a.get('thread_id')})")
    if a.get("decided_by"):
        typer.echo(f"{'decided_by':16s} {a['decided_by']}: {a.get('decision_comment') or ''}")
    typer.echo("evidence:")
    typer.echo(json.dumps(a.get("evidence") or {}, indent=2, sort_keys=True))


def _decide(request_id: str, approve: bool, comment: str, as_json: bool) -> None:
    result = _api(
        "POST", f"/approvals/{request_id}/decision", json={"approve": approve, "comment": comment}
    )
    if as_json:
        emit_json(result)
        return
    thread = result.get("thread") or {}
    typer.echo(f"{request_id}: {result['approval']['status']}")
    if thread:
        typer.echo(f"thread {thread['thread_id']}: {thread['status']}: {thread.get('answer', '')}")


@inbox_app.command("approve")
@clean_errors
def inbox_approve(
    request_id: str,
    comment: Annotated[str, typer.Option(help="Why.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Approve a request (needs an approver token; never your own request)."""
    _decide(request_id, True, comment, as_json)


@inbox_app.command("reject")
@clean_errors
def inbox_reject(
    request_id: str,
    comment: Annotated[str, typer.Option(help="Why.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Reject a request."""
    _decide(request_id, False, comment, as_json)
