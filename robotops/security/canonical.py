"""Canonical JSON: the one byte form of a payload that signatures and hashes are taken over.

Keys sorted, no whitespace, UTF-8, no NaN or Infinity: two parties that hold the same data
produce the same bytes, whatever order they built it in.
"""

from __future__ import annotations

import hashlib
import json


def canonical_json(value: object) -> bytes:
    """The canonical bytes of a JSON-able value (dicts, lists, str, int, bool, None)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def canonical_sha256(value: object) -> str:
    """sha256 (hex) of the canonical JSON of ``value``: a hash of content, not of layout."""
    return hashlib.sha256(canonical_json(value)).hexdigest()
