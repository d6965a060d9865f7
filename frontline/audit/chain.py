"""The hash chain: canonical JSON and how each record commits to the previous one.

A record's hash is ``sha256(canonical_json(envelope))`` where the envelope holds the
chain name, the sequence number, the previous record's hash, the time, the kind, the
conversation id and the (already masked) payload. Changing any of them, deleting a
record or swapping two records breaks the chain at that record.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

#: ``prev_hash`` of the first record of every chain.
GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    """JSON with sorted keys, no whitespace, UTF-8 text and no NaN: one text per value.

    Raises:
        ValueError: ``value`` holds something JSON cannot represent (NaN, a set, ...).
    """
    try:
        return json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except TypeError as exc:
        raise ValueError(f"not JSON-serialisable: {exc}") from exc


def envelope(
    *,
    chain: str,
    seq: int,
    prev_hash: str,
    recorded_at: str,
    kind: str,
    conversation_id: str | None,
    payload: Mapping[str, Any],
) -> dict[str, Any]:
    """Everything a record's hash covers."""
    return {
        "chain": chain,
        "seq": seq,
        "prev_hash": prev_hash,
        "recorded_at": recorded_at,
        "kind": kind,
        "conversation_id": conversation_id,
        "payload": payload,
    }


def record_hash(content: Mapping[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON of a record's envelope."""
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()
