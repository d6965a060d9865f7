"""The handoff outbox: recorded while the queue is down, delivered once, on every database."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timezone

import pytest

from frontline.handoff.queue import SqlHandoffQueue
from frontline.resilience.fallback import conversation_of_one_message, dependency_packet
from frontline.resilience.outbox import HandoffOutbox, OutboxDeliverer, OutboxError

#: A PostgreSQL URL where nothing listens.
DOWN_URL = "postgresql://postgres@127.0.0.1:1/test"


def packet_for(conversation_id: str, text: str = "talk to a person") -> dict:
    now = datetime.now(timezone.utc)
    conversation = conversation_of_one_message(conversation_id, text, "rest", now)
    return dependency_packet(conversation, ["action_server"], now)


@pytest.fixture
def conversation_id() -> str:
    return f"rest:outbox-{uuid.uuid4().hex[:10]}"


def test_a_handoff_waits_until_the_queue_answers_then_is_delivered_once(sql_url, conversation_id):
    outbox = HandoffOutbox(sql_url)
    recorded = outbox.add(packet_for(conversation_id), cause="action_server")
    assert recorded.reference.startswith("HO-") and recorded.delivered_at is None

    # The queue is down: the handoff keeps waiting, the failure noted.
    assert outbox.deliver(SqlHandoffQueue(DOWN_URL)) == 0
    [still] = outbox.of_conversation(conversation_id)
    assert still.attempts == 1 and "failed while" in (still.last_error or "")

    queue = SqlHandoffQueue(sql_url, queue_name=f"q-{uuid.uuid4().hex[:8]}")
    outbox.deliver(queue)
    outbox.deliver(queue)  # delivered ones are never offered again
    [entry] = queue.find_by_conversation(conversation_id)
    assert entry.packet["reason"]["code"] == "dependency_down"
    [done] = outbox.of_conversation(conversation_id)
    assert done.entry_id == entry.entry_id and done.delivered_at is not None
    assert conversation_id not in [w.conversation_id for w in outbox.waiting()]
    queue.close()


def test_a_conversation_has_one_waiting_handoff(sqlite_url, conversation_id):
    outbox = HandoffOutbox(sqlite_url)
    first = outbox.add(packet_for(conversation_id, "help"), cause="action_server")
    second = outbox.add(packet_for(conversation_id, "hello??"), cause="lock_store")
    assert second == first
    assert len(outbox.of_conversation(conversation_id)) == 1


def test_an_unreachable_outbox_raises_its_own_error(conversation_id):
    with pytest.raises(OutboxError, match="failed while recording a handoff"):
        HandoffOutbox(DOWN_URL).add(packet_for(conversation_id), cause="queue")


def test_the_deliverer_survives_a_down_outbox_and_queue(sqlite_url, conversation_id):
    async def steps() -> tuple[int, int]:
        down = OutboxDeliverer(HandoffOutbox(DOWN_URL), lambda: SqlHandoffQueue(DOWN_URL), 60)
        outbox = HandoffOutbox(sqlite_url)
        outbox.add(packet_for(conversation_id), cause="action_server")
        up = OutboxDeliverer(outbox, lambda: SqlHandoffQueue(sqlite_url), 60)
        return await down.step(), await up.step()

    assert asyncio.run(steps()) == (0, 1)
