"""``robotops ingest`` and ``robotops logs ...``: bring logs into memory and look at them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from robotops.cli.base import JsonOpt, app, clean_errors, console, emit_json
from robotops.errors import InvalidRequestError, NotFoundError, RobotOpsError
from robotops.settings import Settings, get_settings

logs_app = typer.Typer(
    help="Ingested logs: list, show, cut windows, trace lineage.", no_args_is_help=True
)
app.add_typer(logs_app, name="logs")

NS = 1_000_000_000
ABSOLUTE_NS = 10**15  # larger times are epoch nanoseconds, smaller ones seconds from the start


def _deps(settings: Settings, with_index: bool) -> Any:
    from robotops.tools.logs.ingest import IngestDeps

    index = None
    if with_index:
        from robotops.memory.vectors import VectorIndex

        index = VectorIndex.from_settings(settings)
    return IngestDeps.from_settings(settings, index=index)


def _catalog() -> Any:
    from robotops.memory.catalog import Catalog

    return Catalog.from_settings(get_settings())


def _clock(ns: int) -> str:
    return datetime.fromtimestamp(ns / NS, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


@app.command("ingest")
@clean_errors
def ingest_cmd(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Logs: MCAP files, ROS 2 bags (directory or .db3), ROS 1 bags, or folders of them."
        ),
    ],
    salvage: Annotated[
        bool,
        typer.Option(
            help="Ingest the readable part of a truncated or "
            "corrupt MCAP (the original is kept as its parent)."
        ),
    ] = False,
    robot: Annotated[str | None, typer.Option(help="Robot id, if the log does not say.")] = None,
    site: Annotated[str | None, typer.Option(help="Site, if the log does not say.")] = None,
    index: Annotated[
        bool, typer.Option(help="Embed segment descriptions into the vector index.")
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """Store, index and catalogue logs; ingesting a log twice is a no-op."""
    from robotops.tools.logs.ingest import IngestRequest, discover_logs, ingest_log

    found = [log for path in paths for log in discover_logs(path)]
    deps = _deps(get_settings(), with_index=index)
    results: list[dict[str, Any]] = []
    failed = 0
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with deps.catalog, Progress(*columns, console=console, transient=True) as bar:
        for path in found:
            task = bar.add_task(f"ingesting {path.name}", total=None)

            def progress(done: int, total: int | None, task: Any = task) -> None:
                bar.update(task, completed=done, total=total)

            request = IngestRequest(path=path, salvage=salvage, robot_id=robot, site=site)
            try:
                result = ingest_log(request, deps, progress)
            except RobotOpsError as exc:
                failed += 1
                results.append({"path": str(path), "status": "failed", "error": str(exc)})
                if not as_json:
                    console.print(f"[red]error:[/red] {exc}")
            else:
                results.append(result.model_dump(mode="json"))
                if not as_json:
                    _print_result(result)
            bar.remove_task(task)
    if as_json:
        emit_json(results)
    if failed:
        raise typer.Exit(2)


def _print_result(result: Any) -> None:
    what = "already ingested" if result.status == "already_ingested" else "ingested"
    origin = f" (salvaged from {result.salvaged_from[:12]})" if result.salvaged_from else ""
    robot = f" robot {result.robot_id}" if result.robot_id else " no robot id"
    if result.robot_id and result.robot_source:
        robot += f" (from the {result.robot_source})"
    typer.echo(
        f"{what} {result.path} -> {result.log_id[:16]}{origin}: {result.format}{robot}, "
        f"{result.message_count} messages, {result.topic_count} topics, "
        f"{result.segment_count} segments, {result.event_count} events, "
        f"{result.incident_count} incidents in {result.seconds:.2f} s"
    )
    for note in result.notes:
        if note.startswith("no robot id found"):
            console.print(f"  [red]warning:[/red] {note}")
        elif not note.startswith("robot id "):
            console.print(f"  [yellow]note:[/yellow] {note}")


@logs_app.command("list")
@clean_errors
def list_cmd(
    robot: Annotated[str | None, typer.Option(help="Only this robot.")] = None,
    site: Annotated[str | None, typer.Option(help="Only this site.")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many logs.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List ingested logs, oldest recording first."""
    with _catalog() as catalog:
        logs = catalog.list_logs(robot_id=robot, site=site, limit=limit)
    if as_json:
        emit_json(logs)
        return
    table = Table(title=f"{len(logs)} logs")
    for column in (
        "id",
        "robot",
        "site",
        "format",
        "start (UTC)",
        "duration s",
        "messages",
        "MB",
        "source",
    ):
        table.add_column(column)
    for log in logs:
        table.add_row(
            log.id[:16],
            log.robot_id,
            log.site,
            log.format,
            _clock(log.start_ns),
            f"{(log.end_ns - log.start_ns) / NS:.1f}",
            str(log.message_count),
            f"{log.size_bytes / 1e6:.1f}",
            log.source_path,
        )
    console.print(table)


@logs_app.command("show")
@clean_errors
def show_cmd(
    log: Annotated[str, typer.Argument(help="Log id (sha256 or a prefix of it).")],
    segments: Annotated[bool, typer.Option(help="Also list every segment's description.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show one log: topics, events, segments and notes."""
    with _catalog() as catalog:
        row = catalog.get_log(log)
        topics, events = catalog.topics(row.id), catalog.events(row.id)
        segs = catalog.segments(row.id)
    if as_json:
        emit_json(
            {
                "log": row.model_dump(mode="json"),
                "topics": [t.model_dump(mode="json") for t in topics],
                "events": [e.model_dump(mode="json") for e in events],
                "segments": [s.model_dump(mode="json") for s in segs],
            }
        )
        return
    typer.echo(f"{row.id}  {row.format}  robot {row.robot_id or '?'}  site {row.site or '?'}")
    typer.echo(f"  {row.source_path}")
    typer.echo(
        f"  {_clock(row.start_ns)} .. {_clock(row.end_ns)} UTC, {row.message_count} "
        f"messages, {len(segs)} segments, {row.size_bytes / 1e6:.2f} MB"
    )
    table = Table(title="topics")
    for column in ("topic", "type", "encoding", "messages", "decodes", "note"):
        table.add_column(column)
    for t in topics:
        decodes = {True: "yes", False: "no", None: "-"}[t.decoded_ok]
        table.add_row(t.name, t.schema_name, t.encoding, str(t.message_count), decodes, t.note)
    console.print(table)
    for e in events:
        typer.echo(f"  event {_clock(e.time_ns)}  {e.kind} ({e.severity}) {e.detail}")
    if segments:
        for s in segs:
            typer.echo(f"  segment {_clock(s.start_ns)}  {s.description}")
    for note in row.notes:
        console.print(f"  [yellow]note:[/yellow] {note}")


def parse_time(value: str, log_start_ns: int) -> int:
    """``12.5`` = seconds from the log's start; a number above 1e15 = epoch nanoseconds."""
    try:
        number = float(value)
    except ValueError:
        raise InvalidRequestError(
            f"time {value!r}: give seconds from the log start (12.5) or epoch nanoseconds"
        ) from None
    if abs(number) >= ABSOLUTE_NS:
        return int(value) if value.strip().isdigit() else int(number)
    return log_start_ns + round(number * NS)


@logs_app.command("cut")
@clean_errors
def cut_cmd(
    log: Annotated[str, typer.Argument(help="An MCAP file, or the id of an ingested MCAP log.")],
    start: Annotated[str, typer.Option(help="Seconds from the log start, or epoch ns.")],
    end: Annotated[str, typer.Option(help="Seconds from the log start, or epoch ns.")],
    out: Annotated[Path, typer.Option(help="Where to write the window (MCAP).")],
    topics: Annotated[
        list[str] | None,
        typer.Option(help="Topics to keep (repeat or comma separate); default all."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Cut a time window out of an MCAP into a small valid MCAP, through the file's index."""
    from robotops.sim.logs.window import cut_window, log_span

    settings = get_settings()
    with _catalog() as catalog:
        source, log_id = _resolve_mcap(catalog, settings, log)
        span = log_span(source)
        wanted = [t for item in topics or [] for t in item.split(",") if t] or None
        result = cut_window(
            source, out, parse_time(start, span.start_ns), parse_time(end, span.start_ns), wanted
        )
        _record_cut(catalog, settings, result, log_id)
    if as_json:
        emit_json(result)
        return
    typer.echo(
        f"wrote {result.path}: {result.message_count} messages on {len(result.topics)} "
        f"topics, {result.size_bytes / 1e6:.2f} MB, sha256 {result.sha256[:16]}"
    )


def _resolve_mcap(catalog: Any, settings: Settings, ref: str) -> tuple[Path, str | None]:
    """A path to read: the file itself, or the stored MCAP of an ingested log."""
    from robotops.memory.blobs import LocalBlobStore

    path = Path(ref)
    if path.is_file():
        size = path.stat().st_size
        known = [
            log.id
            for log in catalog.logs_from_source(str(path.resolve()))
            if log.size_bytes == size
        ]
        return path, known[0] if known else None
    if path.exists() or "/" in ref or ref.endswith(".mcap"):
        raise NotFoundError("MCAP file", ref)
    row = catalog.get_log(ref)
    mcaps = [f for f in row.files if str(f["name"]).endswith(".mcap")]
    if len(mcaps) != 1:
        raise InvalidRequestError(
            f"log {row.id[:16]} is a {row.format} log with {len(mcaps)} "
            "MCAP files; windows are cut from a single MCAP file"
        )
    return LocalBlobStore.from_settings(settings).path_of(mcaps[0]["sha256"]), row.id


def _record_cut(catalog: Any, settings: Settings, result: Any, log_id: str | None) -> None:
    """Keep the window in the blob store with its provenance when its source is catalogued."""
    if log_id is None:
        return
    from robotops import __version__
    from robotops.memory.blobs import LocalBlobStore
    from robotops.memory.lineage import record_artifact

    blobs = LocalBlobStore.from_settings(settings)
    sha = blobs.put_file(result.path, result.sha256)
    with catalog.transaction() as session:
        record_artifact(
            session,
            sha256=sha,
            kind="window",
            uri=str(blobs.path_of(sha)),
            size_bytes=result.size_bytes,
            produced_by="robotops.sim.logs.window",
            tool_version=__version__,
            parents=[(log_id, "cut-from")],
            meta={
                "start_ns": result.start_ns,
                "end_ns": result.end_ns,
                "topics": result.topics,
                "path": str(result.path),
            },
        )


@logs_app.command("lineage")
@clean_errors
def lineage_cmd(
    ref: Annotated[str, typer.Argument(help="A log or artifact id (sha256 or a prefix).")],
    as_json: JsonOpt = False,
) -> None:
    """What an artifact was made from, and what was made from it."""
    from robotops.memory.lineage import lineage

    with _catalog() as catalog:
        result = lineage(catalog, ref)
    if as_json:
        emit_json(result)
        return
    a = result.artifact
    typer.echo(f"{a.sha256}  {a.kind}  by {a.produced_by} {a.tool_version}".rstrip())
    for edge in result.parents:
        typer.echo(f"  made from  {edge.sha256[:16]}  {edge.kind or '?'} ({edge.relation})")
    for edge in result.children:
        typer.echo(f"  made into  {edge.sha256[:16]}  {edge.kind or '?'} ({edge.relation})")
    typer.echo(f"  {len(result.ancestors)} ancestors, {len(result.descendants)} descendants")
