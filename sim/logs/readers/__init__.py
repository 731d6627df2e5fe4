"""Read any robot log through one interface: MCAP files, ROS 2 bags and ROS 1 bags.

Every reader yields :class:`LogMessage` (topic, schema name, encoding, log time, raw bytes, and a
``decoded`` view built on demand) in log-time order, and describes the log up front in a
:class:`LogSummary`. Readers are chosen by detection (magic bytes, suffix, directory contents)
from :data:`READERS`; an unknown file fails with a :class:`LogFormatError` that lists what is
supported.

Formats are read by the libraries that own them: ``mcap`` (with the ROS 2, protobuf, JSON and
ROS 1 decoders) for MCAP, ``rosbags`` for sqlite3 ROS 2 bags and ROS 1 bags. A ROS 2 bag whose
storage is MCAP is read with the ``mcap`` reader, file by file, because rosbags' directory
reader can miss its messages. Decoding never stops a read: a channel that cannot be decoded keeps
its raw bytes and says why in its ``note``.

Channels are found by message type, not topic name (:func:`topics_of_type`), since every robot
names its topics differently.

Modules: ``base`` (messages, summaries, the :class:`LogReader` interface), ``message_types``
(type names), ``decoders`` (MCAP channel decoders), ``bagdir`` (ROS 2 ``metadata.yaml``),
``mcap_reader``, ``rosbag_readers`` and ``detect`` (registry, detection, :func:`open_log`).
"""

from robotops.sim.logs.readers.bagdir import BAG_METADATA
from robotops.sim.logs.readers.base import (
    ChannelInfo,
    Decoder,
    LogMessage,
    LogReader,
    LogSummary,
    TopicSummary,
)
from robotops.sim.logs.readers.decoders import (
    KNOWN_MESSAGE_ENCODINGS,
    MCAP_DECODER_FACTORIES,
    JsonDecoderFactory,
    QuietRos2DecoderFactory,
    Ros1DecoderFactory,
)
from robotops.sim.logs.readers.detect import (
    READERS,
    detect_format,
    open_log,
    read_summary,
    supported_formats,
)
from robotops.sim.logs.readers.mcap_reader import (
    MCAP_ERRORS,
    MCAP_MAGIC,
    McapLogReader,
    diagnose_mcap,
    scan_readable,
)
from robotops.sim.logs.readers.message_types import canonical_type, topics_of_type, type_matches
from robotops.sim.logs.readers.rosbag_readers import (
    ROS1_MAGIC,
    ROSBAG_ERRORS,
    SQLITE_MAGIC,
    Ros1BagReader,
    Ros2BagReader,
)

__all__ = [
    "BAG_METADATA",
    "KNOWN_MESSAGE_ENCODINGS",
    "MCAP_DECODER_FACTORIES",
    "MCAP_ERRORS",
    "MCAP_MAGIC",
    "READERS",
    "ROS1_MAGIC",
    "ROSBAG_ERRORS",
    "SQLITE_MAGIC",
    "ChannelInfo",
    "Decoder",
    "JsonDecoderFactory",
    "LogMessage",
    "LogReader",
    "LogSummary",
    "McapLogReader",
    "QuietRos2DecoderFactory",
    "Ros1BagReader",
    "Ros1DecoderFactory",
    "Ros2BagReader",
    "TopicSummary",
    "canonical_type",
    "detect_format",
    "diagnose_mcap",
    "open_log",
    "read_summary",
    "scan_readable",
    "supported_formats",
    "topics_of_type",
    "type_matches",
]
