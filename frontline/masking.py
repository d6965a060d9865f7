"""Masking of personal data wherever it is stored or shown.

The rules are deliberately simple and predictable: a human agent can still tell
two customers apart (first letter and domain of an e-mail, last digits of a phone),
but nothing stored is enough to contact or impersonate the customer.

Which field is masked where (logs, handoff packets, audit records, exports) is not
decided here but by the data-handling policy (``policies/data_handling.yml``):
:func:`mask_value`, :func:`mask_mapping` and :class:`MaskingFilter` apply it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from frontline.patterns import (
    ADDRESS_IN_TEXT_RE,
    CARD_IN_TEXT_RE,
    CVV_IN_TEXT_RE,
    EMAIL_IN_TEXT_RE,
    NAME_CLAIM_IN_TEXT_RE,
    NATIONAL_ID_IN_TEXT_RE,
    PHONE_IN_TEXT_RE,
)

if TYPE_CHECKING:
    from frontline.policy import DataHandlingPolicy


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
    """Masks what identifies a person inside free text.

    E-mail addresses, phone and card numbers are masked; national ids (social-security,
    passport numbers, ...), card security codes and street addresses are removed; a
    name the customer gives ("my name is Jane Doe") is masked like a name.
    """
    if not text:
        return text
    text = EMAIL_IN_TEXT_RE.sub(lambda m: mask_email(m.group(0)) or "", text)
    text = CVV_IN_TEXT_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
    text = NATIONAL_ID_IN_TEXT_RE.sub("[national id]", text)
    text = CARD_IN_TEXT_RE.sub(lambda m: f"**** {m.group(1)}", text)
    text = PHONE_IN_TEXT_RE.sub(lambda m: mask_phone(m.group(0)) or "", text)
    text = ADDRESS_IN_TEXT_RE.sub("[address]", text)
    return NAME_CLAIM_IN_TEXT_RE.sub(
        lambda m: m.group(0)[: m.start(1) - m.start(0)] + (mask_name(m.group(1)) or ""), text
    )


# -- driven by the data-handling policy (policies/data_handling.yml) -------------------


def mask_partial(value: str | None) -> str | None:
    """Keeps the last two characters: ``482914`` -> ``****14``."""
    if not value:
        return value
    return "*" * max(len(value) - 2, 2) + value[-2:]


def redact(value: str | None) -> str | None:
    """Replaces the whole value: ``221B Baker Street`` -> ``[redacted]``."""
    return "[redacted]" if value else value


def hash_value(value: str) -> str:
    """A stable pseudonym: ``sha256:`` and the first 16 hex digits of the value's hash."""
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


#: How each ``masker`` named in the data-handling policy masks a value.
MASKERS: dict[str, Callable[[str], str | None]] = {
    "email": mask_email,
    "phone": mask_phone,
    "name": mask_name,
    "zip_code": mask_zip_code,
    "card": lambda value: mask_card("".join(c for c in value if c.isdigit()) or value),
    "text": mask_text,
    "partial": mask_partial,
    "redact": redact,
}


def _data_handling(policy: DataHandlingPolicy | None) -> DataHandlingPolicy:
    if policy is not None:
        return policy
    from frontline.policy import policies  # loaded on first use, never at import

    return policies().data_handling


def apply_treatment(treatment: str, masker: str, value: Any) -> Any:
    """Applies ``keep``, ``mask``, ``hash`` or ``drop`` to one value.

    Non-string values are treated as their JSON text (a list of e-mails is masked as
    text); ``None`` stays ``None``.
    """
    if value is None or treatment == "keep":
        return value
    if treatment == "drop":
        return None
    text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
    if treatment == "hash":
        return hash_value(text)
    return MASKERS[masker](text)


def mask_value(place: str, key: str, value: Any, policy: DataHandlingPolicy | None = None) -> Any:
    """Treats ``value`` held under ``key`` as the data-handling policy says for ``place``.

    Args:
        place: ``logs``, ``packets``, ``audit`` or ``exports``.
        key: The slot, entity or record key holding the value (``email``, ``order_id``...).
        value: The value.
        policy: The data-handling policy (default: the process's).

    Returns:
        The value kept, masked, hashed or dropped (None); unchanged for keys that hold
        no personal field.
    """
    handling = _data_handling(policy)
    field = handling.field_for_key(key)
    if field is None:
        return value
    return apply_treatment(handling.treatment(place, field.name), field.masker, value)


def mask_mapping(place: str, data: Any, policy: DataHandlingPolicy | None = None) -> Any:
    """Returns a copy of ``data`` with every personal field treated for ``place``.

    Walks nested mappings and lists; a key that holds a personal field (per the policy's
    ``keys``) has its whole value treated, other values are left as they are. Entity
    lists (``{"entity": "email", "value": ...}``) are treated by their entity name.
    """
    handling = _data_handling(policy)
    if isinstance(data, Mapping):
        entity = data.get("entity")
        result: dict[str, Any] = {}
        for key, value in data.items():
            name = entity if key == "value" and isinstance(entity, str) else str(key)
            if handling.field_for_key(name) is not None:
                result[key] = mask_value(place, name, value, handling)
            else:
                result[key] = mask_mapping(place, value, handling)
        return result
    if isinstance(data, (list, tuple)):
        return [mask_mapping(place, item, handling) for item in data]
    return data


class MaskingFilter(logging.Filter):
    """A logging filter that masks personal data in log messages, per the policy.

    Installed on the handlers of Frontline's servers (see ``frontline.action_server``):
    when the data-handling policy masks free text in ``logs``, every record's message
    has its e-mail addresses, phone and card numbers masked before it is written.
    """

    def __init__(self, policy: DataHandlingPolicy | None = None) -> None:
        super().__init__()
        self._policy = policy

    def filter(self, record: logging.LogRecord) -> bool:
        handling = _data_handling(self._policy)
        if handling.treatment("logs", "free_text") == "keep":
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # a malformed call: the handler reports it when it formats
        masked = mask_value("logs", "text", message, handling)
        if masked != message:
            record.msg, record.args = masked or "", None
        if record.exc_info and not record.exc_text:
            # The exception's text (a traceback quoting the customer) is masked too.
            record.exc_text = mask_value(
                "logs", "text", logging.Formatter().formatException(record.exc_info), handling
            )
        return True


def install_record_masking(policy: DataHandlingPolicy | None = None) -> None:
    """Masks every log record of this process as it is made: Rasa's, Sanic's, ours.

    A ``logging.Filter`` on a logger does not see its children's records, and Rasa adds
    and replaces handlers as it configures logging; the record factory (a documented
    ``logging`` seam) sees every record of every logger, whatever the handlers. Installed
    by the Rasa launcher (:mod:`frontline.runtime.launcher`); installing twice is harmless.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "frontline_masking", False):
        return
    masking = MaskingFilter(policy)
    busy = threading.local()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if not getattr(busy, "active", False):  # loading the policy may log itself
            busy.active = True
            try:
                masking.filter(record)
            finally:
                busy.active = False
        return record

    factory.frontline_masking = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
