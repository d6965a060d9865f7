"""Whether a message on its own is handed to a person, as the dialogue would decide.

Used by :mod:`frontline.tools.nlu_slices` for the ``handed_to_person`` figure of every
slice: on the risk slice (``tests/nlu/slices/risk.yml``: complaints, fraud, legal
threats, chargebacks, self-harm, abuse, frustration) it must be high; on the holdout it
is the share of ordinary messages handed off needlessly (the cost of the low intent
thresholds, ``policies/escalation.yml`` ``intent_signals``).

A message is handed to a person when the escalation dialogue policy's assessment of it,
as the first message of a conversation, fires a rule
(:func:`frontline.dialogue.signals.assess`: sensitive topic by words or trained intent,
frustration), or when the customer asked for a person (``request_human``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from frontline.dialogue.signals import assess, user_turns
from frontline.policy import Policies
from frontline.vocabulary import Reason

REQUEST_HUMAN = "request_human"


def handoff_reason(text: str, parsed: Mapping[str, Any], policies: Policies) -> str | None:
    """The reason code ``text`` (parsed as ``parsed``) is handed off with, or None."""
    turns = user_turns([{"event": "user", "text": text, "parse_data": parsed}])
    assessment = assess(turns, channel="rest", tier=None, policies=policies)
    if assessment.rule is not None:
        return assessment.reason
    if (parsed.get("intent") or {}).get("name") == REQUEST_HUMAN:
        return Reason.CUSTOMER_REQUEST
    return None


def handoff_figures(
    examples: Sequence[tuple[str, str]],
    parsed: Mapping[str, Mapping[str, Any]],
    policies: Policies,
) -> dict[str, Any]:
    """``handed_to_person`` (share of messages) and the reasons given, per intent."""
    reasons: dict[str, Counter[str]] = {}
    handed = 0
    for text, expected in examples:
        reason = handoff_reason(text, parsed[text], policies)
        handed += reason is not None
        reasons.setdefault(expected, Counter())[reason or "not_handed_off"] += 1
    return {
        "handed_to_person": handed / len(examples) if examples else 0.0,
        "handoff_reasons": {k: dict(v) for k, v in sorted(reasons.items())},
    }
