"""Salvage a truncated or corrupt MCAP: copy every record readable before the damage into a
new, valid MCAP.

A recorder that loses power leaves a file with no summary and a half-written last chunk; a bad
disk flips bits inside a chunk. Either way the records before the damage are intact and worth
keeping. The file is read with the mcap stream reader (chunk CRCs checked) until the first
unreadable record, and everything before it (schemas, channels, messages, metadata,
attachments) is written to a fresh MCAP with a full summary and index. The repaired copy
appears atomically, and its provenance points at the original.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

from mcap.records import Attachment, Channel, DataEnd, Header, Message, Metadata, Schema
from mcap.stream_reader import StreamReader
from mcap.writer import CompressionType, Writer
from pydantic import BaseModel, Field

from robotops.errors import LogFormatError
from robotops.memory.blobs import hash_file
from robotops.sim.logs.readers import MCAP_ERRORS, MCAP_MAGIC


class SalvageResult(BaseModel):
    """What a salvage kept, and where the original stopped being readable."""

    source: Path
    path: Path
    sha256: str
    source_bytes: int
    readable_bytes: int = Field(description="the original is readable up to this byte offset")
    messages: int
    channels: int
    reason: str | None = Field(None, description="why reading stopped; None if it did not")


class _Copier:
    """Re-registers schemas and channels in the output as the input declares them."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self.schemas: dict[int, int] = {}
        self.channels: dict[int, int] = {}
        self.messages = 0
        self.started = False

    def start(self, profile: str = "") -> None:
        if not self.started:
            self.writer.start(profile=profile, library="robotops salvage")
            self.started = True

    def add(self, record: object) -> None:
        if isinstance(record, Header):
            self.start(record.profile)
            return
        self.start()
        if isinstance(record, Schema) and record.id not in self.schemas:
            self.schemas[record.id] = self.writer.register_schema(
                record.name, record.encoding, record.data
            )
        elif isinstance(record, Channel) and record.id not in self.channels:
            self.channels[record.id] = self.writer.register_channel(
                record.topic,
                record.message_encoding,
                self.schemas.get(record.schema_id, 0),
                dict(record.metadata),
            )
        elif isinstance(record, Message) and record.channel_id in self.channels:
            self.writer.add_message(
                self.channels[record.channel_id],
                record.log_time,
                record.data,
                record.publish_time,
                record.sequence,
            )
            self.messages += 1
        elif isinstance(record, Metadata):
            self.writer.add_metadata(record.name, dict(record.metadata))
        elif isinstance(record, Attachment):
            self.writer.add_attachment(
                record.create_time, record.log_time, record.name, record.media_type, record.data
            )


def salvage_mcap(src: Path, dst: Path) -> SalvageResult:
    """Write the readable part of MCAP ``src`` to ``dst`` as a valid, indexed MCAP.

    Use it when an ingest fails with a truncated or corrupt MCAP and the user asks to keep what
    can be read (``robotops ingest --salvage``). Reading stops at the first unreadable record: a
    damaged chunk loses the messages in it and everything after it.

    Raises:
        LogFormatError: ``src`` is not an MCAP file, or no message in it is readable.
    """
    src, dst = Path(src), Path(dst)
    with open(src, "rb") as stream:
        if stream.read(len(MCAP_MAGIC)) != MCAP_MAGIC:
            raise LogFormatError(str(src), "cannot salvage: not an MCAP file (no MCAP magic)", 0)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(src, "rb") as stream, open(tmp, "wb") as out:
            copier = _Copier(Writer(out, compression=CompressionType.ZSTD))
            readable, reason = _copy_readable(stream, copier)
            if copier.messages == 0:
                raise LogFormatError(
                    str(src),
                    f"nothing to salvage: no message is readable before byte {readable} ({reason})",
                    readable,
                )
            copier.writer.finish()
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dst)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return SalvageResult(
        source=src,
        path=dst,
        sha256=hash_file(dst),
        source_bytes=src.stat().st_size,
        readable_bytes=readable,
        messages=copier.messages,
        channels=len(copier.channels),
        reason=reason,
    )


def _copy_readable(stream: object, copier: _Copier) -> tuple[int, str | None]:
    """Copy records until the data section ends or a record is unreadable."""
    readable = 0
    try:
        for record in StreamReader(stream, validate_crcs=True).records:  # type: ignore[arg-type]
            if isinstance(record, DataEnd):
                break  # the summary after it is rebuilt by the writer
            readable = stream.tell()  # type: ignore[attr-defined]
            copier.add(record)
    except MCAP_ERRORS as exc:
        return readable, f"{type(exc).__name__}: {exc}".rstrip(": ")
    return readable, None
