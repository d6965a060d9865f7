"""The hash chain: canonical JSON and how each record commits to the previous one.

A record's hash is ``sha256(canonical_json(envelope))`` where the envelope holds the
chain name, the sequence number, the previous record's hash, the time, the kind, the
conversation id and the **digest** of the (already masked) payload,
``sha256(canonical_json(payload))``. Changing any of them, deleting a record or
swapping two records breaks the chain at that record.

Because the chain covers the payload's digest and not the payload itself, a payload
can be erased (a person's right to erasure, retention) without breaking the chain:
the payload is replaced by a *tombstone* that keeps the digest (:func:`tombstone`), and
an ``erasure`` record appended to the chain lists the erased records, so an erasure
nobody recorded is still detected. Records written before this (version 1) hashed the
payload itself; :func:`legacy_envelope` keeps them verifiable, with no migration.
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


#: The key of a tombstone payload (a payload cannot hold it otherwise: see ``tombstone``).
TOMBSTONE_KEY = "_erased"
#: The kind of the record that lists erased records.
ERASURE_KIND = "erasure"


def payload_digest(payload: Mapping[str, Any]) -> str:
    """sha256 (hex) of a payload's canonical JSON."""
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def envelope(
    *,
    chain: str,
    seq: int,
    prev_hash: str,
    recorded_at: str,
    kind: str,
    conversation_id: str | None,
    payload: Mapping[str, Any] | None = None,
    digest: str | None = None,
) -> dict[str, Any]:
    """Everything a record's hash covers: the payload by its digest.

    Give ``payload``, or its ``digest`` (a tombstone's).
    """
    if digest is None:
        if payload is None:
            raise ValueError("an envelope needs the payload or its digest")
        digest = payload_digest(payload)
    return {
        "chain": chain,
        "seq": seq,
        "prev_hash": prev_hash,
        "recorded_at": recorded_at,
        "kind": kind,
        "conversation_id": conversation_id,
        "payload_sha256": digest,
    }


def legacy_envelope(payload: Mapping[str, Any], **fields: Any) -> dict[str, Any]:
    """The envelope of a version-1 record, which covered the payload itself."""
    return {**fields, "payload": payload}


def tombstone(payload: Mapping[str, Any], *, erased_at: str, reason: str) -> dict[str, Any]:
    """What replaces an erased payload: its digest, when and why (nothing personal)."""
    previous = erased_digest(payload)
    return {
        TOMBSTONE_KEY: {
            "payload_sha256": previous or payload_digest(payload),
            "erased_at": erased_at,
            "reason": reason,
        }
    }


def erased_digest(payload: Mapping[str, Any]) -> str | None:
    """The original payload's digest if ``payload`` is a tombstone, else None."""
    mark = payload.get(TOMBSTONE_KEY) if isinstance(payload, Mapping) else None
    if isinstance(mark, Mapping) and isinstance(mark.get("payload_sha256"), str):
        return str(mark["payload_sha256"])
    return None


def record_hash(content: Mapping[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON of a record's envelope."""
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()
