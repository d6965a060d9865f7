"""The shapes of identifiers customers type, shared by NLU patterns and validators.

Order numbers are six digits (``482913``, also typed ``#482913``); US ZIP codes are
five digits. Keeping both here means the spaCy EntityRuler and the form validators
can never disagree about what an order number looks like.
"""

from __future__ import annotations

import re

ORDER_ID_RE = re.compile(r"^#?(\d{6})$")
ZIP_CODE_RE = re.compile(r"^(\d{5})(?:-\d{4})?$")
EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")

# Used to find identifiers inside free text (masking transcripts).
EMAIL_IN_TEXT_RE = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
PHONE_IN_TEXT_RE = re.compile(r"(?<!\d)(?:\+?1[ .-]?)?\(?\d{3}\)?[ .-]?\d{3}[ .-]?\d{4}(?!\d)")
CARD_IN_TEXT_RE = re.compile(r"(?<!\d)(?:\d[ -]?){12,15}(\d{4})(?!\d)")


def normalize_order_id(value: object) -> str | None:
    """Returns the six-digit order number in ``value``, or None if it is not one."""
    match = ORDER_ID_RE.match(str(value).strip()) if value is not None else None
    return match.group(1) if match else None


def normalize_zip_code(value: object) -> str | None:
    """Returns the five-digit ZIP code in ``value``, or None if it is not one."""
    match = ZIP_CODE_RE.match(str(value).strip()) if value is not None else None
    return match.group(1) if match else None


def normalize_email(value: object) -> str | None:
    """Returns ``value`` as a lower-case e-mail address, or None if it is not one."""
    text = str(value).strip().strip(".,;:!?<>()") if value is not None else ""
    return text.lower() if EMAIL_RE.match(text) else None
