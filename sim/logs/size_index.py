"""Estimate the bytes of any window of a log, at full or context fidelity, from its MCAP index.

Chunk indexes and message indexes give every message's time, channel and size inside its chunk;
the chunk's compressed size spreads over its messages by per-channel compressibility measured on
a few sample chunks. Context (reduced-fidelity) costs follow the reducer: decimation by slot per
channel, thumbnails for images, event channels kept whole. A log without a summary (a recorder
that crashed) is read once, linearly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import zstandard
from mcap.data_stream import ReadDataStream
from mcap.reader import SeekingReader
from mcap.records import Channel, Chunk, Message, Schema
from mcap.stream_reader import breakup_chunk
from mcap.summary import Summary

from robotops.errors import LogFormatError, NotFoundError
from robotops.sim.fleet.models import ContextFidelity, PlanEvent
from robotops.sim.logs.log_events import events_from_reader
from robotops.sim.logs.readers.mcap_reader import MCAP_ERRORS
from robotops.sim.logs.reduce import Thumbnailer, channel_role, slot

_RECORD_OVERHEAD = 1 + 8 + 2 + 4 + 8 + 8  # opcode, length, channel, sequence, log/publish time
_RECORD_COMPRESSED = 10  # what that header costs once zstd has seen a few of its neighbours
_INDEX_ENTRY = 16  # one message index entry in the written file (never compressed)
_MAX_SAMPLE_CHUNKS = 4
_MAX_SAMPLE_FRAMES = 30


@dataclass
class LogIndex:
    """Per-message estimates for one log, built from its index (see module docstring)."""

    path: Path
    size_bytes: int
    start_ns: int
    end_ns: int
    channels: dict[int, Channel]
    schemas: dict[int, Schema]
    times: np.ndarray  # int64 log times, sorted
    channel_ids: np.ndarray  # int64, aligned with times
    full_bytes: np.ndarray  # estimated bytes of each message in a full-fidelity cut
    context_cost: np.ndarray  # estimated bytes of each message in a context cut, if kept
    context_kept: np.ndarray  # bool: first of its decimation slot (event channels: always)
    metadata_bytes: int = 0
    events: list[PlanEvent] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    def estimate(self, start_ns: int, stop_ns: int, fidelity: str) -> int:
        """Estimated bytes of a cut of ``[start_ns, stop_ns)`` at ``fidelity``, with overheads."""
        lo, hi = np.searchsorted(self.times, [start_ns, stop_ns], side="left")
        if fidelity == "full":
            payload = float(self.full_bytes[lo:hi].sum())
            present = np.unique(self.channel_ids[lo:hi])
            return int(payload + self._file_overhead(present.tolist(), hi - lo))
        cost, kept = self.context_cost[lo:hi], self.context_kept[lo:hi].copy()
        # The reducer keeps each channel's first message in the window even when the slot it
        # falls in began before the window (globally, an earlier message was that slot's first).
        _, first = np.unique(self.channel_ids[lo:hi], return_index=True)
        kept[first] = True
        kept &= cost > 0
        present = np.unique(self.channel_ids[lo:hi][kept])
        payload = float(cost[kept].sum())
        return int(payload + self._file_overhead(present.tolist(), int(kept.sum())))

    def _file_overhead(self, channel_ids: list[int], messages: int) -> float:
        """Bytes a written file adds around its compressed messages (MCAP record layouts)."""
        channels = [self.channels[c] for c in channel_ids]
        schemas = {c.schema_id for c in channels} & set(self.schemas)
        records = sum(
            25
            + len(c.topic)
            + len(c.message_encoding)
            + sum(8 + len(k) + len(v) for k, v in c.metadata.items())
            for c in channels
        ) + sum(
            21 + len(s.name) + len(s.encoding) + len(s.data)
            for s in (self.schemas[i] for i in schemas)
        )
        chunks = max(1, math.ceil(messages / 4000))
        per_chunk = 80 + 10 * len(channels) + 15 * len(channels)  # chunk index, message indexes
        summary = 350 + 12 * len(channels) + self.metadata_bytes
        # Schemas and channels are written twice: compressed in the first chunk that uses
        # them (about a third of their size) and plain in the summary.
        return 1.35 * records + _INDEX_ENTRY * messages + chunks * per_chunk + summary


def index_log(path: Path, fidelity: ContextFidelity | None = None) -> LogIndex:
    """Estimate every message's cost at full and at context fidelity from the log's index.

    A log without a summary (a recorder that crashed) is read once, linearly.

    Raises:
        NotFoundError: no such file.
        LogFormatError: not a readable MCAP.
    """
    path = Path(path)
    if not path.is_file():
        raise NotFoundError("log file", str(path))
    fidelity = fidelity or ContextFidelity()
    with open(path, "rb") as stream:
        try:
            return _index_log(path, stream, fidelity)
        except MCAP_ERRORS as exc:
            raise LogFormatError(str(path), f"not a readable MCAP file ({exc})") from exc


def _index_log(path: Path, stream, fidelity: ContextFidelity) -> LogIndex:
    reader = SeekingReader(stream)
    summary = reader.get_summary()
    if summary is None or not summary.chunk_indexes:
        return _index_by_scan(path, stream, fidelity)
    times, cids, raw = [], [], []
    for chunk in summary.chunk_indexes:
        t, c, sizes = _chunk_entries(stream, chunk)
        times.append(t)
        cids.append(c)
        raw.append(sizes)
    times_a, cids_a = np.concatenate(times), np.concatenate(cids)
    raw_a = np.concatenate(raw)
    ratios = _Sampler(stream, summary, fidelity).run()
    # Spread each chunk's compressed size over its messages by channel compressibility.
    compressibility = _lookup(ratios.full, cids_a)
    full = np.empty(len(times_a))
    at = 0
    for chunk_times, sizes, chunk in zip(times, raw, summary.chunk_indexes, strict=True):
        weight = sizes * compressibility[at : at + len(chunk_times)]
        scale = chunk.compressed_size / weight.sum() if weight.sum() else 0.0
        full[at : at + len(chunk_times)] = weight * scale
        at += len(chunk_times)
    order = np.argsort(times_a, kind="stable")
    times_a, cids_a, raw_a, full = times_a[order], cids_a[order], raw_a[order], full[order]
    return _finish(path, summary, reader, times_a, cids_a, raw_a, full, ratios, fidelity)


def _index_by_scan(path: Path, stream, fidelity: ContextFidelity) -> LogIndex:
    """No chunk index: one pass over the messages, estimating compression per channel."""
    stream.seek(0)
    reader = SeekingReader(stream)
    times, cids, raw = [], [], []
    channels: dict[int, Channel] = {}
    schemas: dict[int, Schema] = {}
    samples: dict[int, list[Message]] = {}
    for schema, channel, message in reader.iter_messages(log_time_order=False):
        channels[channel.id] = channel
        if schema is not None:
            schemas[schema.id] = schema
        times.append(message.log_time)
        cids.append(channel.id)
        raw.append(len(message.data) + _RECORD_OVERHEAD)
        bucket = samples.setdefault(channel.id, [])
        if len(bucket) < 200:
            bucket.append(message)
    summary = Summary()
    summary.channels, summary.schemas = channels, schemas
    ratios = _Ratios()
    for cid, messages in samples.items():
        ratios.measure(channels[cid], schemas.get(channels[cid].schema_id), messages, fidelity)
    times_a = np.array(times, np.int64)
    cids_a, raw_a = np.array(cids, np.int64), np.array(raw, np.float64)
    full = raw_a * _lookup(ratios.full, cids_a)
    order = np.argsort(times_a, kind="stable")
    return _finish(
        path,
        summary,
        reader,
        times_a[order],
        cids_a[order],
        raw_a[order],
        full[order],
        ratios,
        fidelity,
    )


def _finish(path, summary, reader, times, cids, raw, full, ratios, fidelity) -> LogIndex:
    """Add the context estimate (decimation by slot, thumbnails) and the events."""
    cost = np.zeros(len(times))
    kept = np.zeros(len(times), bool)
    by_channel = np.argsort(cids, kind="stable")  # stays in time order within a channel
    present, firsts = np.unique(cids[by_channel], return_index=True)
    for cid, a, b in zip(present.tolist(), firsts, [*firsts[1:], len(cids)], strict=True):
        where = by_channel[a:b]
        channel = summary.channels[cid]
        role = channel_role(summary.schemas.get(channel.schema_id))
        if role == "event":
            cost[where], kept[where] = full[where], True
            continue
        hz = fidelity.thumbnail_hz if role == "image" else fidelity.telemetry_hz
        period = max(int(round(1e9 / hz)), 1)
        _, first = np.unique(times[where] // period, return_index=True)
        kept[where[first]] = True
        if role == "image":
            cost[where] = ratios.thumbnail.get(cid, 0.0)
        else:
            payload = np.maximum(raw[where] - _RECORD_OVERHEAD, 0)
            cost[where] = payload * ratios.context.get(cid, 1.0) + _RECORD_COMPRESSED
    stats = summary.statistics
    start = int(times[0]) if len(times) else (stats.message_start_time if stats else 0)
    end = int(times[-1]) if len(times) else (stats.message_end_time if stats else 0)
    return LogIndex(
        path=path,
        size_bytes=path.stat().st_size,
        start_ns=start,
        end_ns=end,
        channels=dict(summary.channels),
        schemas=dict(summary.schemas),
        times=times,
        channel_ids=cids,
        full_bytes=full,
        context_cost=cost,
        context_kept=kept,
        metadata_bytes=sum(m.length for m in summary.metadata_indexes),
        events=events_from_reader(path, reader, summary),
    )


def _chunk_entries(stream, chunk) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(log times, channel ids, record sizes) of a chunk's messages, from its message indexes.

    A message's size is the distance to the next record in the uncompressed chunk. A chunk
    written without message indexes is decompressed instead.
    """
    if not chunk.message_index_offsets:
        return _chunk_entries_by_reading(stream, chunk)
    base = chunk.chunk_start_offset + chunk.chunk_length
    stream.seek(base)
    block = stream.read(chunk.message_index_length)
    times, offsets, cids = [], [], []
    for cid, offset in chunk.message_index_offsets.items():
        at = offset - base
        length = int.from_bytes(block[at + 1 : at + 9], "little")
        body = block[at + 9 : at + 9 + length]
        # MessageIndex body: channel id (u16), records length (u32), (log_time, offset) u64 pairs
        pairs = np.frombuffer(body, dtype="<u8", offset=6).reshape(-1, 2)
        times.append(pairs[:, 0].astype(np.int64))
        offsets.append(pairs[:, 1].astype(np.int64))
        cids.append(np.full(len(pairs), cid, np.int64))
    t, o, c = np.concatenate(times), np.concatenate(offsets), np.concatenate(cids)
    order = np.argsort(o)
    sizes = np.diff(o[order], append=chunk.uncompressed_size).astype(np.float64)
    back = np.empty_like(sizes)
    back[order] = sizes
    return t, c, back


def _chunk_entries_by_reading(stream, chunk):
    records = _read_chunk(stream, chunk)
    messages = [r for r in records if isinstance(r, Message)]
    return (
        np.array([m.log_time for m in messages], np.int64),
        np.array([m.channel_id for m in messages], np.int64),
        np.array([len(m.data) + _RECORD_OVERHEAD for m in messages], np.float64),
    )


def _read_chunk(stream, chunk) -> list:
    stream.seek(chunk.chunk_start_offset + 1 + 8)
    return breakup_chunk(Chunk.read(ReadDataStream(stream)), validate_crc=True)


@dataclass
class _Ratios:
    """Measured on sample messages: compressed/raw per channel, thumbnail bytes per frame."""

    full: dict[int, float] = field(default_factory=dict)
    context: dict[int, float] = field(default_factory=dict)
    thumbnail: dict[int, float] = field(default_factory=dict)

    def measure(
        self,
        channel: Channel,
        schema: Schema | None,
        messages: list[Message],
        fidelity: ContextFidelity,
    ) -> list[tuple[int, int, bytes]]:
        """Measure one channel; return its context payloads (time, channel, bytes) sampled."""
        if not messages:
            return []
        self.full[channel.id] = _ratio([m.data for m in messages])
        role = channel_role(schema)
        if role == "event":
            return [(m.log_time, channel.id, m.data) for m in messages]
        hz = fidelity.thumbnail_hz if role == "image" else fidelity.telemetry_hz
        kept, seen = [], set()
        for m in messages:
            if slot(m.log_time, hz) not in seen:
                seen.add(slot(m.log_time, hz))
                kept.append(m)
        if role != "image":
            self.context[channel.id] = _ratio([m.data for m in kept])
            return [(m.log_time, channel.id, m.data) for m in kept]
        thumbnailer = Thumbnailer.for_channel(schema, channel, fidelity)
        thumbs = [
            (m.log_time, channel.id, t)
            for m in kept[:_MAX_SAMPLE_FRAMES]
            if thumbnailer and (t := thumbnailer.thumbnail(m.data))
        ]
        if not thumbs:  # not thumbnailable: the reducer leaves these frames out
            self.thumbnail[channel.id] = 0.0
            return []
        size = sum(len(t) for *_, t in thumbs) / len(thumbs)
        self.thumbnail[channel.id] = size * _ratio([t for *_, t in thumbs]) + _RECORD_COMPRESSED
        return thumbs

    def scale_context(self, factor: float, channel_ids: set[int]) -> None:
        """Apply the gain of compressing channels together rather than one by one."""
        for cid in channel_ids:
            if cid in self.context:
                self.context[cid] *= factor
            if self.thumbnail.get(cid):
                payload = (self.thumbnail[cid] - _RECORD_COMPRESSED) * factor
                self.thumbnail[cid] = payload + _RECORD_COMPRESSED


def _lookup(values: dict[int, float], channel_ids: np.ndarray) -> np.ndarray:
    """``values[channel]`` for every message (1.0 where a channel was not measured)."""
    table = np.ones(int(channel_ids.max(initial=0)) + 1)
    for cid, value in values.items():
        if cid < len(table):
            table[cid] = value
    return table[channel_ids]


def _ratio(payloads: list[bytes]) -> float:
    raw = b"".join(payloads)
    return min(len(zstandard.compress(raw)) / len(raw), 1.0) if raw else 1.0


class _Sampler:
    """Reads a few chunks (the middle one, then ones holding channels not seen yet)."""

    def __init__(self, stream, summary: Summary, fidelity: ContextFidelity) -> None:
        self.stream, self.summary, self.fidelity = stream, summary, fidelity

    def run(self) -> _Ratios:
        chunks = self.summary.chunk_indexes
        ratios, seen = _Ratios(), set[int]()
        order = sorted(range(len(chunks)), key=lambda i: abs(i - len(chunks) // 2))
        for round_ in range(_MAX_SAMPLE_CHUNKS):
            missing = set(self.summary.channels) - seen
            pick = next(
                (
                    i
                    for i in order
                    if set(chunks[i].message_index_offsets) & missing
                    or not chunks[i].message_index_offsets
                ),
                None,
            )
            if pick is None or not missing:
                break
            order.remove(pick)
            by_channel: dict[int, list[Message]] = {}
            for record in _read_chunk(self.stream, chunks[pick]):
                if isinstance(record, Message) and record.channel_id in missing:
                    by_channel.setdefault(record.channel_id, []).append(record)
            payloads = []
            for cid, messages in by_channel.items():
                channel = self.summary.channels[cid]
                schema = self.summary.schemas.get(channel.schema_id)
                payloads += ratios.measure(channel, schema, messages, self.fidelity)
                seen.add(cid)
            if round_ == 0 and payloads:
                ratios.scale_context(_joint_gain(payloads), set(by_channel))
            if not by_channel:
                break
        return ratios


def _joint_gain(payloads: list[tuple[int, int, bytes]]) -> float:
    """Compressed size of the sample's context payloads together / one channel at a time."""
    together = len(zstandard.compress(b"".join(d for *_, d in sorted(payloads, key=_first))))
    channels: dict[int, list[bytes]] = {}
    for _, cid, data in payloads:
        channels.setdefault(cid, []).append(data)
    apart = sum(len(zstandard.compress(b"".join(group))) for group in channels.values())
    return min(together / apart, 1.0) if apart else 1.0


def _first(entry: tuple) -> int:
    return entry[0]
