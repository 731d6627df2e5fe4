"""``robotops search``: find log segments by what happened in them."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Annotated

import typer
from pydantic import ValidationError

from robotops.cli.base import JsonOpt, app, clean_errors, console, emit_json
from robotops.errors import InvalidRequestError
from robotops.settings import get_settings

_UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_AGO = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")


def parse_since(value: str, now_ns: int | None = None) -> int:
    """A time as epoch ns from ``value``: ns since the epoch, an ISO time, or an age like ``2h``.

    ISO times without a zone are taken as UTC, like the times ``robotops search`` prints.
    """
    value = value.strip()
    if value.isdigit():
        return int(value)
    ago = _AGO.match(value)
    if ago:
        now = time.time_ns() if now_ns is None else now_ns
        return now - int(float(ago.group(1)) * _UNITS_S[ago.group(2)] * 1e9)
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRequestError(
            f"--since {value!r}: give epoch nanoseconds, an ISO time (2024-05-01T14:02:11) "
            "or an age (90s, 15m, 2h, 3d)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1_000_000_000)


def _fmt_ns(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


@app.command("search")
@clean_errors
def search(
    text: Annotated[
        str, typer.Argument(help="What happened, in words: 'lens flare near a forklift'.")
    ],
    robot: Annotated[str | None, typer.Option(help="Only this robot id.")] = None,
    site: Annotated[str | None, typer.Option(help="Only this site.")] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Only segments ending after: epoch ns, ISO time (UTC) or age (2h)."),
    ] = None,
    label: Annotated[
        str | None, typer.Option(help="Only segments with this label (e.g. glare).")
    ] = None,
    event: Annotated[
        str | None, typer.Option(help="Only segments with this event kind (e.g. stall).")
    ] = None,
    k: Annotated[int, typer.Option("--k", "-k", help="How many segments to return.")] = 10,
    as_json: JsonOpt = False,
) -> None:
    """Search indexed log segments by meaning; each hit says why it matched."""
    from robotops.memory.vectors import VectorIndex
    from robotops.tools.logs.search import SearchQuery, search_segments

    try:
        query = SearchQuery(
            text=text,
            k=k,
            robot_id=robot,
            site=site,
            label=label,
            event=event,
            since_ns=parse_since(since) if since else None,
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidRequestError(f"search: {problems}") from None
    index = VectorIndex.from_settings(get_settings())
    result = search_segments(query, index)
    if as_json:
        emit_json(result)
        return
    if not result.hits:
        empty = index.count() == 0
        hint = "the index is empty: ingest logs first" if empty else "try fewer filters"
        console.print(f"no matching segments ({hint})")
        return
    for hit in result.hits:
        doc = hit.doc
        where = " ".join(x for x in (f"#{doc.robot_id}" if doc.robot_id else "", doc.site) if x)
        span = f"{_fmt_ns(doc.start_ns)} +{(doc.end_ns - doc.start_ns) / 1e9:.1f}s"
        typer.echo(f"{hit.score:.2f}  {where or '-'}  {span}  log {doc.log_id[:16]}")
        typer.echo(f"      {doc.text}")
        typer.echo(f"      why: {hit.why}")
        if doc.thumbnail:
            typer.echo(f"      thumbnail: {doc.thumbnail}")
