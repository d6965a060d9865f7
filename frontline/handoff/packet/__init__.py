"""The context packet a human agent receives when the assistant hands off.

The packet's shape is the versioned JSON Schema ``schemas/handoff_packet.v1.1.json``
(1.1 adds ``recent_contacts``, ``decisions``, ``reason.rule`` and the idempotency key
and rule id of ``actions_attempted`` to 1.0, all optional). Nothing personal leaves
this package unmasked, and the schema rejects unmasked e-mails and phones.

* :mod:`.build`: :func:`build_packet`, from a tracker state to a validated packet.
* :mod:`.sections`: the packet's parts (customer, turns, actions, decisions, ...).
* :mod:`.summary`: the plain-English summary at the top.
* :mod:`.scrubbing`: masking free text (the customer's details, entity spans).
* :mod:`.schema`: the schema of each packet version and validation against it.
* :mod:`.values`: small checks of text, numbers and times the parts share.
"""

from __future__ import annotations

from frontline.handoff.packet.build import (
    DEFAULT_MAX_TURNS,
    HANDOFF_ID_LENGTH,
    PRIORITIES,
    REASON_CODES,
    build_packet,
    compute_handoff_id,
)
from frontline.handoff.packet.schema import (
    SCHEMA_PATH,
    SCHEMA_PATHS,
    SCHEMA_VERSION,
    load_schema,
    validate_packet,
)
from frontline.handoff.packet.sections import AGENT_SLOTS
from frontline.handoff.packet.summary import CONVERSATIONAL_INTENTS, SUMMARY_MAX_LENGTH

__all__ = [
    "AGENT_SLOTS",
    "CONVERSATIONAL_INTENTS",
    "DEFAULT_MAX_TURNS",
    "HANDOFF_ID_LENGTH",
    "PRIORITIES",
    "REASON_CODES",
    "SCHEMA_PATH",
    "SCHEMA_PATHS",
    "SCHEMA_VERSION",
    "SUMMARY_MAX_LENGTH",
    "build_packet",
    "compute_handoff_id",
    "load_schema",
    "validate_packet",
]
