"""Decoders for MCAP channels: ROS 2 CDR (``ros2msg``, ``ros2idl``, service events), protobuf,
JSON and ROS 1, tried in order by :data:`MCAP_DECODER_FACTORIES`.

Decoding never stops a read: a channel that cannot be decoded keeps its raw bytes and says why.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from typing import Any

from mcap.decoder import DecoderFactory as McapDecoderFactory
from mcap.records import Schema
from mcap_protobuf.decoder import DecoderFactory as ProtobufDecoderFactory
from mcap_ros2.decoder import DecoderFactory as Ros2DecoderFactory
from rosbags.typesys import Stores, get_types_from_idl, get_types_from_msg
from rosbags.typesys import get_typestore as _get_typestore
from rosbags.typesys.store import Typestore

from robotops.sim.logs.readers.base import Decoder
from robotops.sim.logs.readers.message_types import canonical_type


def _rosbags_decoder(types: dict[str, Any], typename: str, ros1: bool) -> Decoder:
    """Decode ``typename`` with rosbags, from ``types`` plus the standard types they refer to."""
    store = typestore(types, Stores.ROS1_NOETIC if ros1 else Stores.LATEST)
    if ros1:
        return lambda data: store.deserialize_ros1(data, typename)
    return lambda data: store.deserialize_cdr(data, typename)


def typestore(types: dict[str, Any], default: Stores) -> Typestore:
    """A typestore of ``types`` first, then the ``default`` store's types they lack."""
    store = _get_typestore(Stores.EMPTY)
    store.register(types)
    base = _get_typestore(default)
    store.register({k: v for k, v in base.fielddefs.items() if k not in store.fielddefs})
    return store


def _msg_name(name: str) -> str:
    """rosbags wants ``pkg/msg/Type``."""
    parts = canonical_type(name).split("/")
    return f"{parts[0]}/msg/{parts[-1]}" if len(parts) >= 2 else name


class QuietRos2DecoderFactory(McapDecoderFactory):
    """ROS 2 CDR: ``ros2msg`` schemas through mcap_ros2, ``ros2idl`` and service events (whose
    recorded schema is the ``.srv`` text, request ``---`` response) through rosbags."""

    def __init__(self) -> None:
        self._inner = Ros2DecoderFactory()

    def decoder_for(self, message_encoding: str, schema: Schema | None) -> Decoder | None:
        if message_encoding != "cdr" or schema is None:
            return None
        text = schema.data.decode()
        if schema.encoding == "ros2idl":
            return _rosbags_decoder(idl_types(text), _msg_name(schema.name), ros1=False)
        if schema.encoding != "ros2msg":
            return None
        if "/srv/" in schema.name and schema.name.endswith("_Event") and "\n---\n" in text:
            return _service_event_decoder(schema.name, text)
        with contextlib.redirect_stderr(io.StringIO()):  # mcap_ros2 prints parse errors
            return self._inner.decoder_for(message_encoding, schema)


def idl_types(text: str) -> dict[str, Any]:
    sep = "=" * 80 + "\n"
    types: dict[str, Any] = {}
    for part in text.split(sep)[1:] if text.startswith(f"{sep}IDL: ") else [text]:
        types.update(
            get_types_from_idl(part.split("\n", 1)[1] if part.startswith("IDL: ") else part)
        )
    return types


def _service_event_decoder(name: str, text: str) -> Decoder:
    """Rebuild ``pkg/srv/X_Event`` (info, request[<=1], response[<=1]) from the .srv text."""
    request, response = text.split("\n---\n", 1)
    pkg, base = canonical_type(name).split("/")[0], name.rsplit("/", 1)[-1][: -len("_Event")]
    types: dict[str, Any] = {}
    types.update(get_types_from_msg(request, f"{pkg}/msg/{base}_Request"))
    types.update(get_types_from_msg(response, f"{pkg}/msg/{base}_Response"))
    event = (
        f"service_msgs/msg/ServiceEventInfo info\n{pkg}/msg/{base}_Request[<=1] request\n"
        f"{pkg}/msg/{base}_Response[<=1] response"
    )
    types.update(get_types_from_msg(event, f"{pkg}/msg/{base}_Event"))
    return _rosbags_decoder(types, f"{pkg}/msg/{base}_Event", ros1=False)


class JsonDecoderFactory(McapDecoderFactory):
    """JSON messages, with or without a JSON schema."""

    def decoder_for(self, message_encoding: str, schema: Schema | None) -> Decoder | None:
        return json.loads if message_encoding == "json" else None


class Ros1DecoderFactory(McapDecoderFactory):
    """ROS 1 messages stored in MCAP (``ros1`` encoding, ``ros1msg`` schemas)."""

    def decoder_for(self, message_encoding: str, schema: Schema | None) -> Decoder | None:
        if message_encoding != "ros1" or schema is None or schema.encoding != "ros1msg":
            return None
        typename = _msg_name(schema.name)
        return _rosbags_decoder(
            get_types_from_msg(schema.data.decode(), typename), typename, ros1=True
        )


# Tried in order for each MCAP channel; the first that returns a decoder wins.
MCAP_DECODER_FACTORIES: tuple[Callable[[], McapDecoderFactory], ...] = (
    QuietRos2DecoderFactory,
    ProtobufDecoderFactory,
    JsonDecoderFactory,
    Ros1DecoderFactory,
)
KNOWN_MESSAGE_ENCODINGS = ("cdr", "protobuf", "json", "ros1")


def mcap_decoder(
    factories: list[McapDecoderFactory], encoding: str, schema: Schema | None
) -> tuple[Decoder | None, str]:
    for factory in factories:
        try:
            decoder = factory.decoder_for(encoding, schema)
        except Exception as exc:  # a schema a decoder library cannot parse is data, not a crash
            name = schema.name if schema is not None else "(no schema)"
            return None, f"cannot parse schema {name!r} ({type(exc).__name__}: {exc})"
        if decoder is not None:
            return decoder, ""
    if encoding not in KNOWN_MESSAGE_ENCODINGS:
        return None, (
            f"no decoder for message encoding {encoding!r} "
            f"(known: {', '.join(KNOWN_MESSAGE_ENCODINGS)})"
        )
    if schema is None:
        return None, f"schemaless {encoding!r} channel"
    return None, f"no decoder for {encoding!r} with schema encoding {schema.encoding!r}"
