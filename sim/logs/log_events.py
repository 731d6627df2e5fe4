"""Read a robot's events from a log, wherever they were recorded.

Events live on the channel(s) whose schema is ``robotops_msgs/msg/Event``, whatever the topic;
with a summary only the chunks holding those channels are decompressed.
"""

from __future__ import annotations

import json
from pathlib import Path

from mcap.reader import SeekingReader
from mcap.summary import Summary
from mcap_protobuf.decoder import DecoderFactory as ProtobufDecoderFactory
from mcap_ros2.decoder import DecoderFactory as Ros2DecoderFactory

from robotops.errors import LogFormatError, NotFoundError
from robotops.sim.fleet.models import PlanEvent
from robotops.sim.logs.readers.mcap_reader import MCAP_ERRORS
from robotops.sim.logs.reduce import channel_role


def read_events(path: Path) -> list[PlanEvent]:
    """The events a log carries, from channels whose schema is ``robotops_msgs/msg/Event``.

    Use it to find incidents in a log without the fleet's incident list; only chunks holding
    event messages are decompressed.

    Raises:
        NotFoundError: no such file.
        LogFormatError: not a readable MCAP.
    """
    path = Path(path)
    if not path.is_file():
        raise NotFoundError("log file", str(path))
    with open(path, "rb") as stream:
        try:
            reader = SeekingReader(stream)
            summary = reader.get_summary()
            return events_from_reader(path, reader, summary)
        except MCAP_ERRORS as exc:
            raise LogFormatError(str(path), f"not a readable MCAP file ({exc})") from exc


def events_from_reader(
    path: Path, reader: SeekingReader, summary: Summary | None
) -> list[PlanEvent]:
    """The events of an already open log (``summary`` is None when the log has none)."""
    if summary is not None:
        ids = {
            cid
            for cid, c in summary.channels.items()
            if channel_role(summary.schemas.get(c.schema_id)) == "event"
        }
        if not ids:
            return []
        topics = sorted({summary.channels[i].topic for i in ids})
    else:
        ids, topics = None, None  # no summary: the reader scans, the schema filter still holds
    events, decoders = [], {}
    for schema, channel, message in reader.iter_messages(topics):
        if (ids is not None and channel.id not in ids) or channel_role(schema) != "event":
            continue
        if channel.id not in decoders:
            decoders[channel.id] = _event_decoder(path, schema, channel)
        decoded = decoders[channel.id](message.data)
        events.append(
            PlanEvent(
                time_ns=message.log_time,
                kind=str(_field(decoded, "kind")),
                severity=str(_field(decoded, "severity")),
                detail=str(_field(decoded, "detail")),
            )
        )
    return events


def _event_decoder(path: Path, schema, channel):
    if channel.message_encoding == "json":
        return json.loads
    for factory in (Ros2DecoderFactory(), ProtobufDecoderFactory()):
        decoder = factory.decoder_for(channel.message_encoding, schema)
        if decoder is not None:
            return decoder
    raise LogFormatError(
        str(path),
        f"event channel {channel.topic} has encoding {channel.message_encoding!r}, "
        "which robotops cannot decode",
    )


def _field(message, name: str):
    value = message.get(name, "") if isinstance(message, dict) else getattr(message, name, "")
    return "" if value is None else value
