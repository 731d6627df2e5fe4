"""``robotops serve``, ``robotops ask`` and ``robotops inbox ...``."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import typer

from robotops.cli import JsonOpt, app, clean_errors, console, emit_json
from robotops.errors import FleetUnavailableError, InvalidRequestError
from robotops.settings import get_settings

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
    """Serve the product API: chat, approvals inbox, search (tokens in DATA_DIR/api_tokens.json)."""
    import uvicorn

    from robotops.api.app import build_deps, create_app

    settings = get_settings()
    deps = build_deps(settings)
    console.print(f"API tokens (one per role) are in {settings.tokens_path()}")
    uvicorn.run(create_app(deps), host=host or settings.api.host, port=port or settings.api.port)


@app.command()
@clean_errors
def ask(
    question: Annotated[str, typer.Argument(help='e.g. "why did #104 stall?"')],
    as_json: JsonOpt = False,
) -> None:
    """Ask about the fleet; answered here by the triage procedure over the fleet API."""
    from robotops.agents.triage.procedure import TriageDeps, triage
    from robotops.memory.vectors import VectorIndex
    from robotops.tools.fleet.client import FleetClient
    from robotops.tools.logs.ingest import IngestDeps

    settings = get_settings()
    index = VectorIndex.from_settings(settings)
    with FleetClient.from_settings(settings) as fleet, console.status("triaging"):
        deps = TriageDeps(
            fleet=fleet,
            ingest=IngestDeps.from_settings(settings, index=index),
            index=index,
            pulled_dir=settings.data_dir / "pulled",
        )
        answer = triage(question, deps, frames_dir=settings.data_dir / "frames")
    emit_json(answer) if as_json else typer.echo(answer.text)


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
def inbox_show(request_id: str) -> None:
    """Show one request with its evidence."""
    emit_json(_api("GET", f"/approvals/{request_id}"))


def _decide(request_id: str, approve: bool, comment: str, as_json: bool) -> None:
    result = _api(
        "POST", f"/approvals/{request_id}/decision", json={"approve": approve, "comment": comment}
    )
    emit_json(result) if as_json else typer.echo(f"{request_id}: {result['status']}")


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
