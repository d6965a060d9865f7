"""Masking the free text of a packet: the customer's own details, entity spans, patterns.

Names, e-mail addresses and phone numbers go through :mod:`frontline.masking`; free
text through :func:`~frontline.masking.mask_text` plus the entity spans the NLU found
and the customer's own known details (:class:`Scrubber`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from frontline.handoff.packet.values import clean
from frontline.masking import mask_email, mask_name, mask_phone, mask_text, mask_zip_code
from frontline.patterns import normalize_email, normalize_zip_code

#: The longest masked entity value a packet holds.
MAX_TEXT_LENGTH = 500

ENTITY_MASKERS: dict[str, Callable[[str], str | None]] = {
    "email": lambda value: mask_email(value) if normalize_email(value) else mask_text(value),
    "phone": mask_phone,
    "phone_number": mask_phone,
    "zip_code": mask_zip_code,
    "name": mask_name,
    "person": mask_name,
    "first_name": mask_name,
    "last_name": lambda value: f"{value.strip()[:1]}." if value.strip() else value,
}


class Scrubber:
    """Masks free text: known details of this customer first, then generic patterns."""

    def __init__(self, customer: Mapping[str, Any] | None, slots: Mapping[str, Any]) -> None:
        known: dict[str, str] = {}
        customer = customer or {}
        name = clean(customer.get("name"))
        if name and " " in name:
            known[name] = mask_name(name) or ""
        for value in (customer.get("email"), slots.get("email")):
            email = clean(value)
            if email and normalize_email(email):
                known[email] = mask_email(email) or ""
        phone = clean(customer.get("phone"))
        if phone:
            known[phone] = mask_phone(phone) or ""
        for value in (
            customer.get("zip_code"),
            customer.get("postal_code"),
            slots.get("verification_secret"),
        ):
            zip_code = normalize_zip_code(value)
            if zip_code:
                known[zip_code] = mask_zip_code(zip_code) or ""
        # Longest first, so "Jane Doe" is replaced before a shorter overlapping value.
        self._replacements = [
            (re.compile(rf"(?<![\w@.]){re.escape(raw)}(?![\w@])", re.IGNORECASE), masked)
            for raw, masked in sorted(known.items(), key=lambda item: len(item[0]), reverse=True)
        ]

    def __call__(self, text: str | None) -> str:
        if not text:
            return ""
        for pattern, masked in self._replacements:
            text = pattern.sub(_constant(masked), text)
        return mask_text(text) or ""


def _constant(value: str) -> Callable[[re.Match[str]], str]:
    """A ``re.sub`` replacement inserting ``value`` literally (no backslash escapes)."""
    return lambda _match: value


def mask_spans(text: str, entities: Iterable[Any]) -> str:
    """Replaces the spans of personal entities the NLU found with masked values."""
    spans: list[tuple[int, int, Callable[[str], str | None]]] = []
    for entity in entities:
        if not isinstance(entity, Mapping):
            continue
        masker = ENTITY_MASKERS.get(str(entity.get("entity", "")).lower())
        start, end = entity.get("start"), entity.get("end")
        if masker and isinstance(start, int) and isinstance(end, int) and 0 <= start < end:
            spans.append((start, end, masker))
    kept: list[tuple[int, int, Callable[[str], str | None]]] = []
    for span in sorted(spans, key=lambda span: (span[0], -span[1])):
        # Several extractors may report overlapping spans: the first, widest one wins.
        if span[1] <= len(text) and (not kept or span[0] >= kept[-1][1]):
            kept.append(span)
    for start, end, masker in reversed(kept):
        text = text[:start] + (masker(text[start:end]) or "") + text[end:]
    return text


def mask_entity_value(entity: str, value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    masker = ENTITY_MASKERS.get(entity.lower())
    masked = masker(text) if masker else text
    return (mask_text(masked) or "")[:MAX_TEXT_LENGTH]
