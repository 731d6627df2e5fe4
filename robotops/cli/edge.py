"""``robotops edge ...``: the agent on the robot (installs, status, recovery after a crash)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from robotops.cli.base import JsonOpt, app, clean_errors, emit_json, fleet_app

edge_app = typer.Typer(
    help="The robot side: install signed orders into A/B slots, report, recover.",
    no_args_is_help=True,
)
app.add_typer(edge_app, name="edge")

RootOpt = Annotated[
    Path, typer.Option("--root", help="The edge agent's folder on the robot (slots, ledger).")
]


def _installer(root: Path, health_cmd: str | None, health_timeout_s: float):
    from robotops.edge.slots import HealthCheck, SlotInstaller

    check = HealthCheck(shlex.split(health_cmd) if health_cmd else None, health_timeout_s)
    return SlotInstaller(root / "slots", health=check)


@edge_app.command("install")
@clean_errors
def install_cmd(
    order: Annotated[Path, typer.Argument(help="The signed deploy order (JSON envelope).")],
    artifact: Annotated[Path, typer.Argument(help="The policy artifact the order names.")],
    robot: Annotated[str, typer.Option("--robot", help="This robot's id.")],
    trust: Annotated[Path, typer.Option("--trust", help="The site's trust file (public keys).")],
    root: RootOpt = Path("/var/lib/robotops-edge"),
    health_cmd: Annotated[
        str | None,
        typer.Option(help="Command run after the switch; exit 0 = healthy ($ROBOTOPS_POLICY)."),
    ] = None,
    health_timeout_s: Annotated[float, typer.Option(help="Seconds the check may take.")] = 30.0,
    as_json: JsonOpt = False,
) -> None:
    """Verify a signed order for this robot and install its artifact in the inactive slot."""
    from robotops.edge.orders import OrderReceiver
    from robotops.security import NonceLedger, SignedEnvelope, load_trust

    envelope = SignedEnvelope.model_validate_json(order.read_text())
    receiver = OrderReceiver(
        robot,
        load_trust(trust),
        NonceLedger(root / "nonces.db"),
        _installer(root, health_cmd, health_timeout_s),
    )
    result = receiver.accept(envelope, artifact)
    if as_json:
        emit_json(result)
    else:
        typer.echo(result.status.last_result if not result.installed else result.health)
        typer.echo(f"running {result.status.version} in slot {result.status.slot}")
    if not result.installed:
        raise typer.Exit(1)


@edge_app.command("status")
@clean_errors
def status_cmd(root: RootOpt = Path("/var/lib/robotops-edge"), as_json: JsonOpt = False) -> None:
    """The running version and slot, the last good slot, and what happened last."""
    status = _installer(root, None, 0).status()
    if as_json:
        emit_json(status)
    else:
        typer.echo(f"running {status.version or 'nothing'} in slot {status.slot or '-'}")
        typer.echo(f"last good slot {status.last_good or '-'}: {status.last_result}")


@edge_app.command("recover")
@clean_errors
def recover_cmd(root: RootOpt = Path("/var/lib/robotops-edge")) -> None:
    """After a restart: settle a switch left half-done (back to the last good slot)."""
    why = _installer(root, None, 0).recover()
    typer.echo(why or "nothing to recover")


@edge_app.command("scan")
@clean_errors
def scan_cmd(
    recordings: Annotated[Path, typer.Argument(help="Where the recorder writes its MCAP files.")],
    root: RootOpt = Path("/var/lib/robotops-edge"),
    settle_s: Annotated[
        float, typer.Option(help="Seconds unchanged without a footer before a file counts as torn.")
    ] = 10.0,
    as_json: JsonOpt = False,
) -> None:
    """Index the recordings that closed (or tore) since the last scan, in the robot's index."""
    from robotops.edge.recordings import RecordingWatcher
    from robotops.edge.store import EdgeStore

    store = EdgeStore(root / "edge.db")
    RecordingWatcher(recordings, store, settle_s=settle_s).scan()
    every = store.recordings()
    if as_json:
        emit_json(every)
        return
    for rec in every:
        typer.echo(f"{rec.status:10} {rec.messages:8} msgs  {rec.path}  {rec.note}".rstrip())


@edge_app.command("send")
@clean_errors
def send_cmd(
    files: Annotated[list[Path], typer.Argument(help="Files to queue before sending.")],
    gateway: Annotated[str, typer.Option(help="The site gateway's URL.")],
    token_file: Annotated[Path, typer.Option(help="The site token (owner-only file).")],
    robot: Annotated[str, typer.Option("--robot", help="This robot's id.")],
    kind: Annotated[str, typer.Option(help="incident, context or log (incidents go first).")] = (
        "log"
    ),
    rate_bps: Annotated[float, typer.Option(help="This robot's upload budget, bytes/s.")] = 2e6,
    root: RootOpt = Path("/var/lib/robotops-edge"),
) -> None:
    """Queue files in the outbox and send everything pending; resumes where the gateway is."""
    from robotops.edge.outbox import Outbox, TokenBucket
    from robotops.security.local import read_token

    token = read_token(token_file)
    if token is None:
        raise typer.BadParameter(f"no token file at {token_file}")
    root.mkdir(parents=True, exist_ok=True)
    outbox = Outbox(root / "edge.db", robot, gateway, token, bucket=TokenBucket(rate_bps))
    for path in files:
        outbox.enqueue(path, kind)
    try:
        for upload_id in outbox.send_all():
            typer.echo(f"sent {upload_id}")
    finally:
        outbox.close()


@fleet_app.command("gateway")
@clean_errors
def gateway_cmd(
    root: Annotated[Path, typer.Option(help="Where the gateway keeps robots and uploads.")] = Path(
        "gateway"
    ),
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8090,
) -> None:
    """Serve the site gateway robots connect out to (heartbeats, resumable uploads)."""
    import uvicorn

    from robotops.edge.gateway import create_gateway_app
    from robotops.security.local import ensure_token

    token = ensure_token(root / "site_token")
    typer.echo(f"site token in {root / 'site_token'}; robots send it as a bearer token")
    uvicorn.run(create_gateway_app(root, token), host=host, port=port, log_level="warning")
