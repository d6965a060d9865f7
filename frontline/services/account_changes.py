"""Account changes (shipping address, e-mail, phone) with progressive disclosure.

Verify identity, present the exact change, ask for explicit consent, apply it once
(idempotency key), confirm with the next steps. The current value is only ever shown
masked; the new value is shown in full, because the customer just typed it and must
be able to spot a typo before saying yes.
"""

from __future__ import annotations

import enum
import logging
import re
from dataclasses import dataclass, field, replace

from frontline.audit.store import AuditStore
from frontline.connectors import CrmClient
from frontline.errors import BackendError, BackendRejected
from frontline.masking import mask_email, mask_phone
from frontline.patterns import (
    EMAIL_IN_TEXT_RE,
    PHONE_IN_TEXT_RE,
    normalize_email,
    normalize_phone_number,
)
from frontline.policy import Policies
from frontline.services.guardrails import WriteCheck, WriteContext
from frontline.writes import (
    WritePath,
    WriteRequest,
    WriteResult,
    WriteStatus,
    flag_refusal_response,
)

logger = logging.getLogger(__name__)

EMAIL, PHONE, SHIPPING_ADDRESS = "email", "phone", "shipping_address"
FIELDS = (EMAIL, PHONE, SHIPPING_ADDRESS)
FIELD_LABELS = {
    EMAIL: "e-mail address",
    PHONE: "phone number",
    SHIPPING_ADDRESS: "shipping address",
}
#: The intent that asks for each change (the ``account_field`` slot is set from it).
FIELD_OF_INTENT = {
    "change_email": EMAIL,
    "change_phone": PHONE,
    "change_shipping_address": SHIPPING_ADDRESS,
}

_ZIP_IN_ADDRESS_RE = re.compile(r"\b\d{5}(?:-\d{4})?\s*$")
# What customers say before the address: "it's", "ok its", "sure,", "please use",
# "send it to", "ship to", "the address is", "my new shipping address is", "address:".
# Stripped one after the other ("ok so it's ..."); a line that starts with a digit is
# left alone.
_LEAD_IN_RE = re.compile(
    r"^(?:"
    r"ok(?:ay)?|k|sure|yes|yeah|yep|yup|alright|right|so|well|um+|uh+|hm+|oh|hi|hey|hello"
    r"|great|perfect|thanks|thank you|of course"
    r"|(?:it|that|this)(?:['\u2019]?s|\s+is|\s+will\s+be|\s+should\s+be)|its|thats"
    r"|here(?:['\u2019]?s|\s+it\s+is|\s+you\s+go)|heres"
    r"|(?:(?:please|pls|plz|can\s+you|could\s+you|you\s+can)\s+)?"
    r"(?:use|send(?:\s+(?:it|them|everything|my\s+orders?))?(?:\s+to)?"
    r"|ship(?:\s+(?:it|them|everything|my\s+orders?))?(?:\s+to)?"
    r"|deliver(?:\s+(?:it|them|everything|my\s+orders?))?(?:\s+to)?"
    r"|mail(?:\s+(?:it|them))?(?:\s+to)?|change(?:\s+it)?\s+to|update(?:\s+it)?\s+to"
    r"|set(?:\s+it)?\s+to|make\s+it)"
    r"|please|pls|plz"
    r"|(?:(?:my|the)\s+)?(?:new\s+)?(?:shipping\s+|delivery\s+|mailing\s+)?(?:address|addy|addr)"
    r"(?:\s+(?:is|should\s+be|will\s+be|would\s+be))?"
    r"|(?:(?:my|the)\s+)?new\s+one(?:\s+(?:is|should\s+be|will\s+be))?"
    r"|(?:i|we)(?:['\u2019]ve|\s+have)?\s+moved\s+to|(?:i|we)\s+(?:now\s+)?live\s+at"
    r")(?:[\s,:;.!-]+)",
    re.IGNORECASE,
)
# Any other short lead-in that ends right before the house number: "my place is 12 ...",
# "you can reach me at 12 ...", "deliver everything to 12 ...".
_OTHER_LEAD_IN_RE = re.compile(
    r"^(?:[A-Za-z'\u2019]+\s+){0,4}(?:is|at|to)\s*[:,-]?\s+(?=\d)", re.IGNORECASE
)
# What customers say after it: "... 62704 please", "..., thanks!", "... 62704. ty".
_TRAILING_POLITENESS_RE = re.compile(
    r"[\s,;.!-]*\b(?:(?:please|pls|plz)(?:\s+(?:and|&)\s+(?:thanks|thank\s+you))?"
    r"|thanks|thank\s+(?:you|u)|thx|ty|tysm|cheers)"
    r"(?:\s+(?:so|very)\s+much)?[\s.!]*$",
    re.IGNORECASE,
)
# A house number (not a six-digit order number or an amount) followed by a street name.
_HOUSE_AND_STREET_RE = re.compile(
    r"(?<![\w$#.,/-])\d{1,5}(?:-\d{1,5})?[A-Za-z]?(?![\w/])\W*?[A-Za-z]{2,}"
)
ADDRESS_LENGTH = (10, 200)


def _format_phone(e164: str) -> str:
    """``+14155550199`` -> ``+1 415 555 0199`` (other countries stay in E.164)."""
    digits = e164.lstrip("+")
    if len(digits) == 11 and digits.startswith("1"):
        return f"+1 {digits[1:4]} {digits[4:7]} {digits[7:]}"
    return e164


def normalize_address(text: object) -> str | None:
    """A US shipping address in one line, or None if it does not look like one.

    Needs a house number, a street and a 5-digit ZIP code (or ZIP+4) at the end. What the
    customer says around the address is dropped: lead-ins ("it's", "ok its", "sure,",
    "please use", "ship to", "my new address is") and thanks ("please", "thanks", "ty").
    """
    if text is None:
        return None
    line = " ".join(str(text).split()).strip(" .,;!")
    for _ in range(3):
        line = _TRAILING_POLITENESS_RE.sub("", line, count=1).strip(" .,;!")
    for _ in range(6):
        if line[:1].isdigit():
            break
        stripped = _LEAD_IN_RE.sub("", line, count=1)
        if stripped == line:
            stripped = _OTHER_LEAD_IN_RE.sub("", line, count=1)
        if stripped == line:
            break
        line = stripped.strip(" .,;:!-")
    if not ADDRESS_LENGTH[0] <= len(line) <= ADDRESS_LENGTH[1]:
        return None
    if not re.search(r"\d", line.split(",")[0]) or not re.search(r"[A-Za-z]{2,}", line):
        return None
    zip_code = _ZIP_IN_ADDRESS_RE.search(line)
    if not zip_code or not _HOUSE_AND_STREET_RE.search(line[: zip_code.start()]):
        return None
    return line


def normalize_new_value(account_field: str, value: object) -> str | None:
    """The new value for ``account_field`` found in what the customer typed, or None."""
    if value is None:
        return None
    text = str(value)
    if account_field == EMAIL:
        found = normalize_email(text)
        if found is None:
            match = EMAIL_IN_TEXT_RE.search(text)
            found = normalize_email(match.group(0)) if match else None
        return found
    if account_field == PHONE:
        number = normalize_phone_number(text)
        if number is None:
            match = PHONE_IN_TEXT_RE.search(text)
            number = normalize_phone_number(match.group(0)) if match else None
        return _format_phone(number) if number else None
    if account_field == SHIPPING_ADDRESS:
        return normalize_address(text)
    return None


def mask_address(address: str | None) -> str | None:
    """``500 Howard St, Apt 4B, San Francisco, CA 94107`` -> ``*** San Francisco, CA 94107``.

    The street is hidden; the town and ZIP code are enough to recognise one's address.
    """
    if not address:
        return address
    parts = [part.strip() for part in address.split(",") if part.strip()]
    if len(parts) >= 3:
        return "*** " + ", ".join(parts[-2:])
    match = _ZIP_IN_ADDRESS_RE.search(address)
    return f"*** {match.group(0).strip()}" if match else "***"


def mask_current(account_field: str, value: str | None) -> str:
    """The value on file as the customer is shown it."""
    masked = {EMAIL: mask_email, PHONE: mask_phone, SHIPPING_ADDRESS: mask_address}[account_field](
        value
    )
    return masked or "nothing on file"


def invalid_value_response(account_field: str) -> str:
    return {
        EMAIL: "utter_invalid_new_email",
        PHONE: "utter_invalid_new_phone",
        SHIPPING_ADDRESS: "utter_invalid_new_address",
    }[account_field]


def ask_value_response(account_field: str) -> str:
    return {
        EMAIL: "utter_ask_new_email",
        PHONE: "utter_ask_new_phone",
        SHIPPING_ADDRESS: "utter_ask_new_address",
    }[account_field]


async def change_prompt(
    crm: CrmClient, customer_id: str | None, account_field: str, new_value: str
) -> dict[str, str] | None:
    """Variables of ``utter_ask_account_change_confirmed``, or None if the CRM is down."""
    if not customer_id:  # nobody verified server-side: nothing is read
        return None
    try:
        customer = await crm.get_customer(customer_id)
    except BackendError as exc:
        logger.warning("Could not read customer %s: %s", customer_id, exc)
        return None
    return {
        "field_label": FIELD_LABELS[account_field],
        "current": mask_current(account_field, customer.get(account_field)),
        "new_value": new_value,
    }


class ChangeOutcome(str, enum.Enum):
    CHANGED = "changed"
    UNCHANGED = "unchanged"  # the account already had this value
    KEPT = "kept"  # the customer said no: nothing changed
    EMAIL_TAKEN = "email_taken"
    REJECTED = "rejected"  # the CRM refused the value
    UNAVAILABLE = "unavailable"
    NEEDS_HUMAN = "needs_human"  # the guardrail refused the write (policies/)
    UNKNOWN = "outcome_unknown"  # timed out, and the replay could not confirm it


_CHANGED_RESPONSES = {
    EMAIL: "utter_account_changed_email",
    PHONE: "utter_account_changed_phone",
    SHIPPING_ADDRESS: "utter_account_changed_address",
}
_OTHER_RESPONSES = {
    ChangeOutcome.UNCHANGED: "utter_account_change_unchanged",
    ChangeOutcome.KEPT: "utter_account_change_kept",
    ChangeOutcome.EMAIL_TAKEN: "utter_account_change_email_taken",
    ChangeOutcome.REJECTED: "utter_account_change_rejected",
    ChangeOutcome.UNAVAILABLE: "utter_backend_error",
    ChangeOutcome.NEEDS_HUMAN: "utter_write_needs_human",
    ChangeOutcome.UNKNOWN: "utter_write_outcome_unknown",
}


def change_operation(account_field: str) -> str:
    """The write declared in policies/escalation.yml for a field: ``change_email``..."""
    return f"change_{account_field}"


@dataclass(frozen=True)
class ChangeResult:
    outcome: ChangeOutcome
    account_field: str
    variables: dict[str, str] = field(default_factory=dict)
    #: The guardrail's verdict, when a write was considered.
    check: WriteCheck | None = None
    #: What the write path did (None when no write was considered).
    write: WriteResult | None = None

    @property
    def response(self) -> str:
        if self.outcome is ChangeOutcome.CHANGED:
            return flag_refusal_response(self.write) or _CHANGED_RESPONSES[self.account_field]
        return flag_refusal_response(self.write) or _OTHER_RESPONSES[self.outcome]


async def apply_change(
    crm: CrmClient,
    *,
    customer_id: str | None,
    account_field: str,
    new_value: str,
    confirmed: bool,
    idempotency_key: str,
    context: WriteContext,
    rules: Policies | None = None,
    audit: AuditStore | None = None,
) -> ChangeResult:
    """Changes one field on the account if the customer said yes (once per key).

    Right before the write the guardrail (policies/) checks verification, consent to this
    very new value and scope (e.g. no contact-detail changes over a shared channel); a
    refusal comes back as ``NEEDS_HUMAN`` with ``check`` naming the rule. Both are audited.
    """
    variables = {"field_label": FIELD_LABELS[account_field], "new_value": new_value}
    if not confirmed:
        return ChangeResult(ChangeOutcome.KEPT, account_field, variables)
    written = await WritePath(rules, audit).execute(
        WriteRequest(
            change_operation(account_field),
            context,
            customer_id=customer_id,
            subject=new_value,
            idempotency_key=idempotency_key,
            perform=lambda key: crm.update_customer(
                customer_id or "", {account_field: new_value}, idempotency_key=key
            ),
            details={"account_field": account_field, account_field: new_value},
            outcome_of=lambda w: _updated(w, account_field, new_value).outcome.value,
        )
    )
    result = _updated(written, account_field, new_value)
    return replace(result, check=written.check, write=written)


def _updated(written: WriteResult, account_field: str, new_value: str) -> ChangeResult:
    """What the write path's result means for this change (the CRM changes it once per key)."""
    variables = {"field_label": FIELD_LABELS[account_field], "new_value": new_value}
    if written.status is WriteStatus.REFUSED:
        return ChangeResult(ChangeOutcome.NEEDS_HUMAN, account_field, variables)
    if written.status is WriteStatus.OUTCOME_UNKNOWN:
        return ChangeResult(ChangeOutcome.UNKNOWN, account_field, variables)
    exc = written.error
    if written.status is WriteStatus.REJECTED and isinstance(exc, BackendRejected):
        if exc.status == 409 and exc.body.get("error") == "email_taken":
            return ChangeResult(ChangeOutcome.EMAIL_TAKEN, account_field, variables)
        logger.warning("Account change refused: %s", exc)
        return ChangeResult(ChangeOutcome.REJECTED, account_field, variables)
    answer = written.answer
    if written.status is not WriteStatus.DONE or answer is None:
        return ChangeResult(ChangeOutcome.UNAVAILABLE, account_field, variables)
    if account_field not in (answer.get("changed") or []):
        return ChangeResult(ChangeOutcome.UNCHANGED, account_field, variables)
    stored = (answer.get("customer") or {}).get(account_field) or new_value
    return ChangeResult(ChangeOutcome.CHANGED, account_field, variables | {"new_value": stored})
