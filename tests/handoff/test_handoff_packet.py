"""The handoff context packet: building, masking, schema validation."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import jsonschema
import pytest
from rasa_sdk import Tracker

from frontline.errors import PacketInvalid
from frontline.handoff.packet import (
    SCHEMA_PATH,
    SCHEMA_PATHS,
    build_packet,
    compute_handoff_id,
    load_schema,
    validate_packet,
)

T0 = 1714564800.0  # 2024-05-01T12:00:00Z
NOW = datetime(2024, 5, 1, 12, 10, tzinfo=timezone.utc)
SENDER = "5f0c2a7e9b1d4c8e"

EMAIL = "jane.doe@example.com"
PHONE = "+1 (415) 555-0134"
CARD = "4111 1111 1111 1111"
ZIP = "94107"
CUSTOMER = {
    "id": "C-1001",
    "name": "Jane Doe",
    "email": EMAIL,
    "phone": "+1 415 555 0134",
    "tier": "gold",
    "zip_code": ZIP,
}
#: Personal data in the conversation below; none of it may appear in a packet.
RAW_PERSONAL = [
    EMAIL,
    "jane.doe",
    "555-0134",
    "555 0134",
    "5550134",
    "(415)",
    ZIP,
    CARD,
    "4111",
    "212-555-0199",
    "bob@old-session.example",
    "sales@acme.example",
]


def user(
    text: str,
    intent: str,
    at: float,
    entities: Sequence[tuple[str, str]] = (),
    confidence: float = 0.93,
) -> dict[str, Any]:
    """A Rasa ``user`` event, with entity spans located in ``text``."""
    parsed = [
        {
            "entity": entity,
            "value": value,
            "start": text.index(value),
            "end": text.index(value) + len(value),
            "extractor": "EntityRuler",
        }
        for entity, value in entities
    ]
    ranked = {"name": intent, "confidence": confidence}
    parse_data = {
        "text": text,
        "intent": ranked,
        "entities": parsed,
        "intent_ranking": [dict(ranked)],
    }
    return dict(
        event="user",
        timestamp=at,
        text=text,
        input_channel="rest",
        message_id=f"m{at}",
        metadata={},
        parse_data=parse_data,
    )


def bot(text: str | None, at: float) -> dict[str, Any]:
    return {"event": "bot", "timestamp": at, "text": text, "data": {}, "metadata": {}}


def action(name: str, at: float) -> dict[str, Any]:
    return {"event": "action", "timestamp": at, "name": name, "policy": "RulePolicy"}


def slot(name: str, value: Any, at: float) -> dict[str, Any]:
    return {"event": "slot", "timestamp": at, "name": name, "value": value}


def conversation(**changes: Any) -> dict[str, Any]:
    """A ``Tracker.current_state()`` of a customer who failed verification and gave up."""
    events = [
        # An earlier session: must not leak into this handoff.
        action("action_session_start", T0 - 9000),
        {"event": "session_started", "timestamp": T0 - 9000},
        user("call bob@old-session.example or 212-555-0199", "inform", T0 - 8990),
        bot("Sorry, I didn't get that.", T0 - 8989),
        # This session.
        action("action_session_start", T0),
        {"event": "session_started", "timestamp": T0},
        action("action_listen", T0 + 1),
        user("hi there", "greet", T0 + 10),
        bot("Hi, I'm Frontline, an automated assistant.", T0 + 11),
        user("where is my order #482913?", "check_order_status", T0 + 20, [("order_id", "482913")]),
        action("order_status_form", T0 + 21),
        {"event": "active_loop", "timestamp": T0 + 21, "name": "order_status_form"},
        slot("requested_slot", "email", T0 + 21),
        bot("What's the e-mail address on your account?", T0 + 22),
        user(f"it's {EMAIL}, or call me on {PHONE}", "inform", T0 + 30, [("email", EMAIL)]),
        slot("email", EMAIL, T0 + 31),
        bot("Thanks. And the order number or ZIP code on the account?", T0 + 32),
        user(ZIP, "inform", T0 + 40, [("zip_code", ZIP)]),
        slot("verification_secret", ZIP, T0 + 41),
        bot("Sorry, I couldn't verify those details.", T0 + 42),
        bot(None, T0 + 42.5),  # buttons only: not a turn
        user(f"my card is {CARD}, try again", "inform", T0 + 50),
        bot("Please don't share card numbers here.", T0 + 51),
        user(
            "cancel order 482913 and 517204",
            "cancel_order",
            T0 + 60,
            [("order_id", "482913"), ("order_id", "517204")],
        ),
        slot("verification_attempts", 3.0, T0 + 61),
        bot("I still can't verify you.", T0 + 62),
        user(
            f"just get me a human! I'm Jane Doe, {EMAIL}, {PHONE}, cc sales@acme.example",
            "request_human",
            T0 + 70,
            [("email", EMAIL), ("phone", PHONE)],
            confidence=0.98,
        ),
    ]
    latest = events[-1]
    state: dict[str, Any] = {
        "sender_id": SENDER,
        "slots": {
            "customer_verified": False,
            "customer_id": None,
            "email": EMAIL,
            "verification_secret": ZIP,
            "order_id": "482913",
            "verification_attempts": 3.0,
            "needs_human": True,
            "handoff_reason": "verification_failed",
            "requested_slot": None,
            "action_log": [
                {
                    "action": "action_verify_identity",
                    "result": "failed",
                    "detail": f"no account for {EMAIL} with ZIP {ZIP}",
                    "at": "2024-05-01T12:00:41Z",
                },
                {
                    "action": "action_verify_identity",
                    "result": "failed",
                    "detail": None,
                    "at": None,
                },
                {
                    "action": "action_verify_identity",
                    "result": "failed",
                    "detail": f"caller said {PHONE}",
                    "at": T0 + 61,
                },
                {
                    "action": "action_order_status",
                    "result": "backend_error",
                    "detail": "orders service timed out",
                    "at": "2024-05-01T12:01:05.250000+00:00",
                },
                {"result": "ok"},  # no action name: dropped
            ],
        },
        "latest_message": {
            "text": latest["text"],
            "intent": latest["parse_data"]["intent"],
            "entities": latest["parse_data"]["entities"],
        },
        "latest_event_time": latest["timestamp"],
        "paused": False,
        "events": events,
        "latest_input_channel": "rest",
        "active_loop": {},
        "latest_action_name": "action_listen",
    }
    state.update(changes)
    return state


def build(state: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "reason_code": "verification_failed",
        "rationale": "The customer could not be verified against the CRM after 3 attempts.",
        "priority": "high",
        "customer": None,
        "now": NOW,
    }
    arguments.update(overrides)
    return build_packet(state if state is not None else conversation(), **arguments)


# -- the packet ---------------------------------------------------------------------


def test_builds_a_schema_valid_packet_from_a_tracker_state() -> None:
    packet = build()

    validate_packet(packet)
    jsonschema.validate(packet, json.loads(SCHEMA_PATH.read_text()))
    assert packet["schema_version"] == "1.1"
    assert packet["conversation_id"] == SENDER
    assert packet["channel"] == "rest"
    assert packet["created_at"] == "2024-05-01T12:10:00.000Z"
    assert packet["priority"] == "high"
    assert packet["reason"] == {
        "code": "verification_failed",
        "rationale": "The customer could not be verified against the CRM after 3 attempts.",
    }
    assert packet["intent"] == {"name": "request_human", "confidence": 0.98}
    assert packet["entities"] == [
        {"entity": "email", "value": "j***@example.com"},
        {"entity": "phone", "value": "***-***-**34"},
    ]
    assert packet["slots"] == {
        "order_id": "482913",
        "verification_attempts": 3.0,
        "handoff_reason": "verification_failed",
    }
    json.dumps(packet, allow_nan=False)  # JSON-able


def test_builds_from_a_real_rasa_sdk_tracker() -> None:
    tracker = Tracker.from_dict(conversation())

    assert build(tracker.current_state()) == build()


def test_unverified_customer_has_no_details() -> None:
    assert build()["customer"] == {
        "verified": False,
        "customer_id": None,
        "name": None,
        "email": None,
        "phone": None,
        "tier": None,
    }


def test_verified_customer_is_masked() -> None:
    packet = build(customer=CUSTOMER, reason_code="customer_request", rationale="Asked for one.")

    assert packet["customer"] == {
        "verified": True,
        "customer_id": "C-1001",
        "name": "Jane D.",
        "email": "j***@example.com",
        "phone": "***-***-**34",
        "tier": "gold",
    }


def test_partial_customer_record_still_builds() -> None:
    """The CRM may be down: the handoff goes out with just the id."""
    packet = build(customer={"id": "C-1001", "email": "not an address", "name": "  "})

    assert packet["customer"] == {
        "verified": True,
        "customer_id": "C-1001",
        "name": None,
        "email": None,
        "phone": None,
        "tier": None,
    }


@pytest.mark.parametrize("customer", [None, CUSTOMER], ids=["unverified", "verified"])
def test_nothing_personal_appears_unmasked(customer: dict[str, Any] | None) -> None:
    dumped = json.dumps(build(customer=customer), ensure_ascii=False)

    for raw in RAW_PERSONAL:
        assert raw.lower() not in dumped.lower(), raw
    if customer is not None:
        # Names in free text are masked only when the CRM says whose they are.
        assert "Doe" not in dumped
        assert "I'm Jane D., j***@example.com, ***-***-**34, cc s***@acme.example" in dumped
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", dumped.replace("***@", "")), dumped
    assert not re.search(r"\d{3}[ .-]?\d{4}", dumped), dumped


def test_transcript_keeps_the_shape_of_masked_values() -> None:
    texts = [turn["text"] for turn in build(customer=CUSTOMER)["last_turns"]]

    assert "it's j***@example.com, or call me on ***-***-**34" in texts
    assert "941**" in texts
    assert "my card is **** 1111, try again" in texts


def test_handoff_id_is_stable_for_the_same_conversation() -> None:
    first = build(now=NOW)
    retried = build(copy.deepcopy(conversation()), now=datetime(2024, 5, 2, tzinfo=timezone.utc))

    expected = hashlib.sha256(f"{SENDER}|{T0 + 70:.6f}".encode()).hexdigest()[:24]
    assert first["handoff_id"] == retried["handoff_id"] == expected
    assert compute_handoff_id(SENDER, T0 + 70) == expected


def test_handoff_id_changes_when_the_customer_writes_again() -> None:
    state = conversation()
    state["events"] = [*state["events"], user("hello?", "greet", T0 + 500)]

    assert build(state)["handoff_id"] != build()["handoff_id"]
    assert build(conversation(sender_id="someone-else"))["handoff_id"] != build()["handoff_id"]


def test_summary_tells_the_story() -> None:
    summary = build()["summary"]

    assert summary == (
        "Customer wanted to check an order's status then cancel an order then talk to a "
        "person. Orders mentioned: #482913, #517204. Identity not verified (3 failed "
        "attempts). Bot tried: verify identity (failed x3), order status (backend_error). "
        "Handed off (identity verification failed): The customer could not be verified "
        "against the CRM after 3 attempts."
    )
    assert len(summary) <= 400


def test_summary_of_a_verified_customer() -> None:
    summary = build(customer=CUSTOMER)["summary"]

    assert "Identity verified (gold tier)." in summary
    assert "Jane" not in summary


def test_summary_stays_short_for_long_conversations() -> None:
    state = conversation()
    intents = [f"ask_about_topic_number_{i}" for i in range(30)]
    state["events"] = [
        *state["events"],
        *(user(f"order {100000 + i}", intent, T0 + 100 + i) for i, intent in enumerate(intents)),
    ]
    state["slots"]["action_log"] = [
        {"action": f"action_step_{i}", "result": "failed", "detail": None, "at": None}
        for i in range(20)
    ]

    summary = build(state, rationale="A very long reason. " * 14)["summary"]

    assert len(summary) <= 400
    assert "more" in summary
    assert build(state, rationale="A very long reason. " * 14)["summary"] == summary


def test_last_turns_are_the_latest_n_of_this_session() -> None:
    turns = build(max_turns=3)["last_turns"]

    assert [turn["speaker"] for turn in turns] == ["customer", "assistant", "customer"]
    assert turns[0]["text"] == "cancel order 482913 and 517204"
    assert turns[1] == {
        "speaker": "assistant",
        "text": "I still can't verify you.",
        "timestamp": "2024-05-01T12:01:02.000Z",
    }


def test_last_turns_default_to_ten() -> None:
    turns = build()["last_turns"]

    assert len(turns) == 10
    assert turns[0]["text"] == "What's the e-mail address on your account?"
    everything = build(max_turns=50)["last_turns"]
    assert len(everything) == 13  # this session's user and bot texts, not the earlier one
    assert everything[0] == {
        "speaker": "customer",
        "text": "hi there",
        "timestamp": "2024-05-01T12:00:10.000Z",
    }
    assert build(max_turns=0)["last_turns"] == []


def test_actions_attempted_come_from_the_action_log() -> None:
    actions = build()["actions_attempted"]

    assert [(a["action"], a["result"]) for a in actions] == [
        ("action_verify_identity", "failed"),
        ("action_verify_identity", "failed"),
        ("action_verify_identity", "failed"),
        ("action_order_status", "backend_error"),
    ]
    assert actions[0]["detail"] == "no account for j***@example.com with ZIP 941**"
    assert actions[0]["at"] == "2024-05-01T12:00:41.000Z"
    assert actions[1] == {
        "action": "action_verify_identity",
        "result": "failed",
        "detail": None,
        "at": None,
    }
    assert actions[2]["at"] == "2024-05-01T12:01:01.000Z"
    assert actions[3]["at"] == "2024-05-01T12:01:05.250Z"


def test_a_fresh_conversation_builds_too() -> None:
    state = {"sender_id": "new", "slots": {}, "latest_message": {}, "events": []}

    packet = build(state, reason_code="customer_request", rationale="Asked.", priority="low")

    assert packet["intent"] is None
    assert packet["entities"] == []
    assert packet["last_turns"] == []
    assert packet["actions_attempted"] == []
    assert packet["channel"] == "unknown"
    assert "slots" not in packet
    assert packet["summary"].startswith("Customer's request was not understood.")
    assert packet["handoff_id"] == compute_handoff_id("new", None)


def test_channel_falls_back_to_the_last_user_event() -> None:
    state = conversation(latest_input_channel=None)
    state["events"][-1]["input_channel"] = "slack"

    assert build(state)["channel"] == "slack"


# -- validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"reason_code": "bored"},
        {"priority": "asap"},
        {"rationale": ""},
    ],
    ids=["reason", "priority", "rationale"],
)
def test_bad_arguments_give_an_invalid_packet(overrides: dict[str, Any]) -> None:
    with pytest.raises(PacketInvalid):
        build(**overrides)


def test_a_conversation_without_id_is_invalid() -> None:
    with pytest.raises(PacketInvalid, match="conversation_id"):
        build(conversation(sender_id=None))


def test_validate_rejects_a_missing_field() -> None:
    packet = build()
    del packet["summary"]

    with pytest.raises(PacketInvalid, match="missing summary") as raised:
        validate_packet(packet)

    assert isinstance(raised.value.__cause__, jsonschema.ValidationError)


def test_validate_rejects_unmasked_contact_details_without_echoing_them() -> None:
    packet = build(customer=CUSTOMER)
    packet["customer"]["email"] = EMAIL

    with pytest.raises(PacketInvalid, match="/customer/email") as raised:
        validate_packet(packet)

    assert EMAIL not in str(raised.value)


def test_validate_rejects_unknown_fields() -> None:
    packet = build()
    packet["password"] = "hunter2"

    with pytest.raises(PacketInvalid, match="unexpected password"):
        validate_packet(packet)


def test_negative_max_turns_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        build(max_turns=-1)


def test_schema_file_is_a_valid_versioned_schema() -> None:
    schema = load_schema()

    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["schema_version"] == {"const": "1.1"}
    assert SCHEMA_PATH.name == "handoff_packet.v1.1.json"
    assert SCHEMA_PATHS["1.0"].name == "handoff_packet.v1.json"


def test_version_1_1_keeps_what_1_0_requires_and_adds_recent_contacts() -> None:
    old, new = load_schema("1.0"), load_schema("1.1")

    assert new["required"] == old["required"]  # additions are optional: 1.0 readers lose nothing
    assert set(old["properties"]) < set(new["properties"])
    assert "recent_contacts" in set(new["properties"]) - set(old["properties"])


def as_version_1_0(packet: dict[str, Any]) -> dict[str, Any]:
    """The packet without what 1.0 does not know (top level, reason, actions)."""
    schema = load_schema("1.0")["properties"]
    old = {key: value for key, value in packet.items() if key in schema}
    old["schema_version"] = "1.0"
    old["reason"] = {
        k: v for k, v in packet["reason"].items() if k in schema["reason"]["properties"]
    }
    action_fields = schema["actions_attempted"]["items"]["properties"]
    old["actions_attempted"] = [
        {k: v for k, v in action.items() if k in action_fields}
        for action in packet["actions_attempted"]
    ]
    return old


def test_a_packet_is_validated_against_the_schema_of_its_version() -> None:
    packet = build(customer=CUSTOMER, recent_contacts=CONTACTS)
    old = as_version_1_0(packet)
    validate_packet(old)  # a 1.0 packet still in a queue stays valid

    with pytest.raises(PacketInvalid, match=r"v1\.0 .*unexpected recent_contacts"):
        validate_packet(old | {"recent_contacts": packet["recent_contacts"]})
    with pytest.raises(PacketInvalid, match="no known schema_version"):
        validate_packet(packet | {"schema_version": "2.0"})


CONTACTS = [
    {
        "id": "c3",
        "customer_id": "C-1001",
        "channel": "slack",
        "conversation_id": SENDER,
        "topic": "order cancellation",
        "started_at": "2024-05-01T12:00:00Z",
        "created_at": "2024-05-01T12:01:00Z",
    },
    {
        "channel": "socketio",
        "conversation_id": "9a1f0c2e4b6d8f0a1c3e5a7b9d1f3e5a",
        "topic": None,
        "started_at": "2024-04-30T08:15:00.500000Z",
    },
    {"channel": "rest", "conversation_id": "no-time"},  # incomplete: dropped
    "not a contact",
]


def test_recent_contacts_of_a_verified_customer_list_every_channel() -> None:
    packet = build(customer=CUSTOMER, recent_contacts=CONTACTS)

    assert packet["recent_contacts"] == [
        {
            "channel": "slack",
            "conversation_id": SENDER,
            "topic": "order cancellation",
            "started_at": "2024-05-01T12:00:00.000Z",
            "current": True,
        },
        {
            "channel": "socketio",
            "conversation_id": "9a1f0c2e4b6d8f0a1c3e5a7b9d1f3e5a",
            "topic": None,
            "started_at": "2024-04-30T08:15:00.500Z",
            "current": False,
        },
    ]


def test_an_unverified_customer_has_no_recent_contacts() -> None:
    assert build(customer=None, recent_contacts=CONTACTS)["recent_contacts"] == []
    assert build(customer=CUSTOMER)["recent_contacts"] == []


def test_recent_contacts_are_capped() -> None:
    many = [
        {"channel": "rest", "conversation_id": f"c{n}", "started_at": "2024-05-01T10:00:00Z"}
        for n in range(25)
    ]
    assert len(build(customer=CUSTOMER, recent_contacts=many)["recent_contacts"]) == 10


def test_a_privacy_request_is_marked_as_one() -> None:
    packet = build(
        reason_code="privacy_request",
        rationale="Privacy request: the customer asked to delete their account.",
        priority="normal",
    )
    jsonschema.validate(packet, json.loads(SCHEMA_PATH.read_text()))
    assert packet["privacy_request"] is True and packet["reason"]["code"] == "privacy_request"
    assert "privacy_request" not in build()
