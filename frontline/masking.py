"""Masking of personal data wherever it is stored or shown.

The rules are deliberately simple and predictable: a human agent can still tell
two customers apart (first letter and domain of an e-mail, last digits of a phone),
but nothing stored is enough to contact or impersonate the customer.
"""

from __future__ import annotations

from frontline.patterns import CARD_IN_TEXT_RE, EMAIL_IN_TEXT_RE, PHONE_IN_TEXT_RE


def mask_email(email: str | None) -> str | None:
    """``jane.doe@example.com`` -> ``j***@example.com``."""
    if not email or "@" not in email:
        return email
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_phone(phone: str | None) -> str | None:
    """Keeps the last two digits: ``+1 415 555 0134`` -> ``***-***-**34``."""
    if not phone:
        return phone
    digits = [c for c in phone if c.isdigit()]
    return f"***-***-**{''.join(digits[-2:])}" if len(digits) >= 4 else "***"


def mask_name(name: str | None) -> str | None:
    """``Jane Doe`` -> ``Jane D.``: enough to greet, not enough to identify."""
    if not name:
        return name
    parts = name.split()
    if len(parts) == 1:
        return parts[0]
    return f"{parts[0]} {parts[-1][:1]}."


def mask_zip_code(zip_code: str | None) -> str | None:
    """``94107`` -> ``941**``."""
    if not zip_code:
        return zip_code
    return zip_code[:3] + "*" * (len(zip_code) - 3)


def mask_card(last4: str | None) -> str | None:
    """Shows a card by its last four digits only."""
    return f"**** {last4[-4:]}" if last4 else last4


def mask_text(text: str | None) -> str | None:
    """Masks e-mail addresses, phone and card numbers inside free text."""
    if not text:
        return text
    text = EMAIL_IN_TEXT_RE.sub(lambda m: mask_email(m.group(0)) or "", text)
    text = CARD_IN_TEXT_RE.sub(lambda m: f"**** {m.group(1)}", text)
    return PHONE_IN_TEXT_RE.sub(lambda m: mask_phone(m.group(0)) or "", text)
