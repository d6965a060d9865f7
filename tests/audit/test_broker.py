"""The Rasa event broker: events in, decision records on the chain, off the event loop."""

from __future__ import annotations

import threading
import time

import pytest
from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

from frontline.audit import AuditStore
from frontline.audit.broker import AuditEventBroker, AuditWriter
from frontline.audit.decisions import DecisionBuilder
from tests.audit.events import MODEL_ID, legal_threat_conversation, refused_cancellation


async def make_broker(url: str, chain: str, **kwargs) -> AuditEventBroker:
    config = EndpointConfig(
        url=url, type="frontline.audit.broker.AuditEventBroker", chain=chain, **kwargs
    )
    broker = await EventBroker.create(config)  # the way the Rasa server builds it
    assert isinstance(broker, AuditEventBroker)
    return broker


def wait_for(condition, seconds: float = 10.0):
    """Bounded polling of a readiness condition."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail("condition not met in time")


async def test_publish_then_close_writes_every_decision(sql_url, unique_name):
    broker = await make_broker(sql_url, unique_name)
    for event in legal_threat_conversation():
        broker.publish({"sender_id": "c1", **event})
    for event in refused_cancellation():
        broker.publish({"sender_id": "c2", **event})
    assert broker.is_ready()
    await broker.close()
    store = AuditStore(sql_url, unique_name)
    assert store.verify().ok
    first = [r.payload for r in store.records("c1")]
    assert [d["action"] for d in first] == ["action_session_start", "utter_greet", "action_handoff"]
    assert all(d["model_id"] == MODEL_ID for d in first)
    assert first[2]["rules"][0]["id"] == "sensitive.legal_threat"
    assert "frustration_threshold" in first[2]["thresholds"]
    second = [r.payload["action"] for r in store.records("c2")]
    assert second == ["cancel_order_form", "action_cancel_order", "action_handoff"]


async def test_a_paused_conversation_is_written_without_waiting_for_close(sql_url, unique_name):
    broker = await make_broker(sql_url, unique_name, idle_seconds=0.2)
    try:
        for event in legal_threat_conversation():
            broker.publish({"sender_id": "c1", **event})
        store = AuditStore(sql_url, unique_name)
        records = wait_for(
            lambda: [r for r in store.records("c1") if r.payload["action"] == "action_handoff"]
        )
        assert records[0].payload["escalation"]["kind"] == "sensitive_topic"
    finally:
        await broker.close()


async def test_user_text_is_masked_in_the_record(sqlite_url, unique_name):
    broker = await make_broker(sqlite_url, unique_name)
    events = legal_threat_conversation()
    events[7] = events[7] | {"text": "I'm jane.doe@example.com and I'm going to sue you"}
    for event in events:
        broker.publish({"sender_id": "c1", **event})
    await broker.close()
    [handoff] = [
        r
        for r in AuditStore(sqlite_url, unique_name).records()
        if r.payload["action"] == "action_handoff"
    ]
    assert handoff.payload["text"] == "I'm j***@example.com and I'm going to sue you"


class GatedStore(AuditStore):
    """A store whose appends wait until the test opens the gate."""

    def __init__(self, url: str, chain: str) -> None:
        super().__init__(url, chain)
        self.gate = threading.Event()
        self.appending = threading.Event()

    def append(self, records):
        self.appending.set()
        assert self.gate.wait(timeout=30), "the test never opened the gate"
        return super().append(records)


async def test_publish_never_waits_for_the_database(sqlite_url, unique_name):
    store = GatedStore(sqlite_url, unique_name)
    broker = AuditEventBroker(AuditWriter(store, DecisionBuilder({}, {}), idle_seconds=0.05))
    for event in legal_threat_conversation() * 20:
        broker.publish({"sender_id": "c1", **event})
    # Every event was accepted while the writer is stuck in the database.
    assert store.appending.wait(timeout=10) and store.records() == []
    store.gate.set()
    await broker.close()
    assert len(store.records()) == 3 * 20 and store.verify().ok


class CountingStore(AuditStore):
    """Counts the transactions (appends) the writer makes."""

    def __init__(self, url: str, chain: str) -> None:
        super().__init__(url, chain)
        self.batches: list[int] = []

    def append(self, records):
        self.batches.append(len(records))
        return super().append(records)


async def test_events_arriving_within_the_batch_window_share_one_transaction(
    sqlite_url, unique_name
):
    store = CountingStore(sqlite_url, unique_name)
    # The window outlasts the test: only the stop marker ends the batch.
    writer = AuditWriter(store, DecisionBuilder({}, {}), idle_seconds=60, batch_window=60)
    broker = AuditEventBroker(writer)
    for index in range(10):
        for event in legal_threat_conversation():
            broker.publish({"sender_id": f"c{index}", **event})
    await broker.close()
    assert store.batches == [3 * 10]
    assert store.verify().ok


async def test_the_batch_window_comes_from_the_endpoint_config(sql_url, unique_name):
    broker = await make_broker(sql_url, unique_name, batch_window=0.2)
    assert broker.writer.batch_window == 0.2
    await broker.close()
