"""Personal data typed in chat never reaches a store or a log line raw (issue 16, item 7)."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from frontline.errors import ConfigurationError
from frontline.masking import install_record_masking, mask_mapping, mask_text
from frontline.privacy.encryption import EventCipher, UnreadableEvent, cipher_from_settings
from frontline.settings import Settings

SECRETS_TYPED = {
    "123-45-6789": "my SSN is 123-45-6789",
    "X1234567": "passport number X1234567",
    "M3302918": "SSN 734-10-5592 and passport no. M3302918",
    "737": "the CVV is 737",
    "12 Elm Street": "send it to 12 Elm Street please",
    "Jane Doe": "hi, my name is Jane Doe",
    "4111 1111 1111 1111": "card 4111 1111 1111 1111",
}


@pytest.mark.parametrize("raw", list(SECRETS_TYPED))
def test_identity_claims_ids_and_security_codes_are_masked_in_free_text(raw: str) -> None:
    masked = mask_text(SECRETS_TYPED[raw])
    assert masked and raw not in masked


def test_order_numbers_and_amounts_stay_readable() -> None:
    text = "order #482913 was 12.50 on 2026-12-07, 2 items on the way, dispute dp_39a"
    assert mask_text(text) == text


def test_audit_exports_drop_the_new_value_in_the_consent_evidence() -> None:
    stored = mask_mapping("audit", {"consent": {"subject": {"phone": "+1 415 555 0134"}}})
    exported = mask_mapping("exports", stored)
    assert stored["consent"]["subject"]["phone"] == "***-***-**34"
    assert exported["consent"]["subject"]["phone"] is None


def test_log_records_of_any_logger_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    previous = logging.getLogRecordFactory()
    install_record_masking()
    try:
        with caplog.at_level(logging.INFO):
            logging.getLogger("rasa.core.processor").error(
                "Failed on message %r", "I'm Jane Doe, SSN 123-45-6789, 12 Elm Street"
            )
            try:
                raise ValueError("bad input: jane@example.com")
            except ValueError:
                logging.getLogger("sanic.error").exception("Exception occurred")
        text = caplog.text
    finally:
        logging.setLogRecordFactory(previous)
    for raw in ("Jane Doe", "123-45-6789", "12 Elm Street", "jane@example.com"):
        assert raw not in text


def test_tracker_events_are_sealed_and_open_with_any_configured_key() -> None:
    old, new = "an-old-tracker-key-0001", "a-new-tracker-key-0002"
    sealed = EventCipher([old]).seal('{"text": "12 Elm Street"}')
    assert sealed.startswith("fernet:") and "Elm" not in sealed
    rotated = EventCipher([new, old])
    assert rotated.open(sealed) == '{"text": "12 Elm Street"}'
    assert rotated.open('{"event": "user"}') == '{"event": "user"}'  # stored before
    with pytest.raises(UnreadableEvent):
        EventCipher([new]).open(sealed)


def test_the_tracker_key_comes_from_the_environment_or_an_owner_only_file(
    tmp_path: Path,
) -> None:
    settings = Settings.from_env({"FRONTLINE_TRACKER_KEY": "k" * 20})
    assert (
        cipher_from_settings(settings, tmp_path / "unused").open(EventCipher(["k" * 20]).seal("x"))
        == "x"
    )
    key_file = tmp_path / "tracker_key"
    key_file.write_text("f" * 24)
    os.chmod(key_file, 0o644)
    with pytest.raises(ConfigurationError):
        cipher_from_settings(Settings.from_env({"FRONTLINE_TRACKER_KEY_FILE": str(key_file)}))
    made = tmp_path / "made" / "tracker_key"
    cipher_from_settings(Settings.from_env({}), made)
    assert stat.S_IMODE(made.stat().st_mode) == 0o600
    with pytest.raises(ConfigurationError):
        EventCipher(["short"])


def test_consent_evidence_keeps_no_new_phone_number_or_address(sqlite_url: str) -> None:
    import asyncio
    from types import SimpleNamespace

    from frontline.audit.store import AuditStore
    from frontline.audit.writes import record_write

    new_phone, asked = "+1 415 555 0134", "+1 415 555 9999"
    decision = SimpleNamespace(
        operation="change_phone",
        as_dict=lambda: {"operation": "change_phone", "rationale": f"consent for {asked}"},
    )
    consent = SimpleNamespace(
        as_dict=lambda: {
            "given": False,
            "reason": f"the yes was for {asked}, not {new_phone}",
            "subject": asked,
        }
    )
    audit = AuditStore(sqlite_url, "consent")
    context = SimpleNamespace(channel="rest", conversation_id="rest:c1")
    asyncio.run(
        record_write(
            audit,
            context,  # type: ignore[arg-type]
            SimpleNamespace(decision=decision, consent=consent),  # type: ignore[arg-type]
            idempotency_key="k1",
            outcome="needs_human",
            details={"account_field": "phone", "phone": new_phone},
        )
    )
    (record,) = audit.records()
    stored = str(record.payload)
    assert "0134" not in stored.replace("***-***-**34", "") and "9999" not in stored.replace(
        "***-***-**99", ""
    )
    assert record.payload["consent"]["subject"] == {"phone": "***-***-**99"}
    assert "[the new phone]" in record.payload["consent"]["reason"]


def test_the_policy_says_the_tracker_store_encrypts() -> None:
    from frontline.policy import policies
    from frontline.privacy.encryption import PlainText, tracker_cipher

    assert policies().data_handling.at_rest("tracker") == "encrypt"
    assert not isinstance(
        tracker_cipher(Settings.from_env({"FRONTLINE_TRACKER_KEY": "k" * 20})), PlainText
    )
    plain = PlainText()
    assert plain.seal("x") == "x" and plain.open("x") == "x"
    with pytest.raises(UnreadableEvent):
        plain.open(EventCipher(["k" * 20]).seal("x"))
