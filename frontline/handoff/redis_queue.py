"""The handoff queue on a Redis Stream, delivered through a consumer group.

The stream is the log of handoffs; the consumer group ``agents`` records who holds
which entry:

* **Delivery** (``XREADGROUP``): :meth:`RedisStreamHandoffQueue.deliver` reads new
  entries into the group, to the shared consumer ``desk`` (the pool every desk process
  offers to its agents).
* **Claim** (``XCLAIM``): an agent's claim moves the entry to the consumer
  ``agent:<agent id>``; the agent's desk renews the lease by claiming its entries again
  (``XCLAIM ... JUSTID`` resets their idle time).
* **Re-offer** (``XAUTOCLAIM``): entries idle for longer than the lease (their agent's
  session died, so nobody renewed them) are taken back into the ``desk`` pool and
  offered again.
* **Resolve** (``XACK``): only a resolution removes an entry from the group's pending
  entries list, so an open handoff is always either in that list or not yet read:
  never lost.

Keys, all prefixed with the stream's name (so one stream's keys can be listed, and so
a stream name with a hash tag, e.g. ``{frontline}:handoffs``, keeps them on one
cluster slot):

* ``{stream}``: the stream; one entry per handoff, field ``packet`` holds its JSON.
* ``{stream}:handoff:{handoff_id}``: the entry id of a handoff (the dedupe key).
* ``{stream}:entry:{entry_id}``: a hash with the entry's state: ``status``, ``priority``,
  ``claimed_by``, ``lease_expires_at``, the timings, ... Timestamps are milliseconds
  since the epoch on the Redis server's clock, so every desk process and the action
  server agree on them (entries of an earlier version hold ISO 8601 strings).
* ``{stream}:pending`` and ``{stream}:claimed``: sorted sets of the pending and of the
  claimed entry ids, scored by priority rank then enqueue time (``score`` in the hash),
  so listing the queue never scans the stream.
* ``{stream}:conversation:{conversation_id}``: a list of a conversation's entry ids.

Every change of state is one Lua script (``lua/``), so it is atomic: the state hash,
the sorted sets and the consumer group change together, after checking the current
state. Two agents therefore never own one entry. Which changes are allowed and what
they write is not in the scripts but in :mod:`frontline.handoff.transitions`, which
they receive as JSON and apply (``lua/prelude.lua``: ``may_start`` and ``apply``).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, cast

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from frontline.errors import ConfigurationError, QueueError
from frontline.handoff import entry as queue_entry
from frontline.handoff.base import HandoffQueue
from frontline.handoff.entry import (
    CLAIMED,
    DEFAULT_LEASE_SECONDS,
    PENDING,
    RESOLVED,
    STATUSES,
    Delivery,
    QueueEntry,
)
from frontline.handoff.transitions import RENEW, REOFFER, Transition

logger = logging.getLogger(__name__)

CONSUMER_GROUP = "agents"
#: The consumer that holds delivered entries nobody owns (the desk's offer pool).
POOL_CONSUMER = "desk"
#: Prefix of the consumer holding an agent's entries: ``agent:<agent id>``.
AGENT_CONSUMER_PREFIX = "agent:"
DEFAULT_STREAM = "frontline:handoffs"

#: Entries read, or scanned for lapsed leases, per step of ``deliver``.
_BATCH = 100
#: Most steps of one script, so no script can run unbounded.
_MAX_ROUNDS = 1000

_STREAM_ID_RE = re.compile(r"^(\d+)-(\d+)$")

#: The Lua scripts, one file each under ``lua/``, each run after ``lua/prelude.lua``.
SCRIPTS = ("enqueue", "transition", "renew", "deliver")
LUA_DIR = Path(__file__).resolve().parent / "lua"


@functools.cache
def script_source(name: str) -> str:
    """The prelude and one script of ``lua/``, as Redis runs them (read once per process)."""
    prelude = (LUA_DIR / "prelude.lua").read_text(encoding="utf-8")
    return prelude + "\n" + (LUA_DIR / f"{name}.lua").read_text(encoding="utf-8")


class RedisStreamHandoffQueue(HandoffQueue):
    """A handoff queue on a Redis Stream (see the module docstring for the design).

    Nothing connects until the first operation. Connecting and commands time out after
    ``timeout`` seconds; a command whose connection dropped is retried once on a new
    connection, which is safe because every operation is idempotent (a claim or a
    resolution that already went through returns the entry).

    Args:
        redis_url: ``redis://`` or ``rediss://`` URL, with the database number.
        stream: Name of the stream; it prefixes every key the queue uses.
        timeout: Seconds before connecting or a command is abandoned.
        lease_seconds: How long a claim lasts without :meth:`renew`; also the idle
            time after which ``deliver`` takes an entry back (``XAUTOCLAIM``).

    Raises:
        ConfigurationError: The URL, the stream name or the lease is invalid.
    """

    def __init__(
        self,
        redis_url: str,
        stream: str = DEFAULT_STREAM,
        *,
        timeout: float = 5.0,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> None:
        if not stream:
            raise ConfigurationError("the handoff stream name must not be empty")
        self.lease_seconds = queue_entry.check_lease_seconds(lease_seconds)
        try:
            self._pool = redis.ConnectionPool.from_url(
                redis_url,
                decode_responses=True,
                socket_connect_timeout=timeout,
                socket_timeout=timeout,
                health_check_interval=30,
                retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=1),
                retry_on_error=[redis.ConnectionError],
            )
        except ValueError as exc:
            raise ConfigurationError("invalid handoff queue Redis URL") from exc
        self._client = redis.Redis(connection_pool=self._pool)
        self._stream = stream
        # Run by EVALSHA; redis-py loads a script (SCRIPT LOAD) the first time the
        # server does not know its SHA, so the source travels once per server.
        self._scripts = {
            name: self._client.register_script(script_source(name)) for name in SCRIPTS
        }
        self._group_ready = False
        self._group_lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        kwargs = self._pool.connection_kwargs
        where = kwargs.get("path") or f"{kwargs.get('host')}:{kwargs.get('port')}"
        return f"RedisStreamHandoffQueue({where}/{kwargs.get('db', 0)}, stream={self._stream!r})"

    @property
    def stream(self) -> str:
        """The stream's name, which prefixes every key of this queue."""
        return self._stream

    @property
    def _lease_ms(self) -> int:
        return max(int(self.lease_seconds * 1000), 1)

    # -- keys --------------------------------------------------------------------

    def _key(self, *parts: str) -> str:
        """A key of this queue: the stream's name, then ``parts``, joined by ``:``."""
        return ":".join((self._stream, *parts))

    def _run(self, name: str, extra_keys: Sequence[str], extra_args: Sequence[Any]) -> Any:
        """Runs one of the scripts with the keys and arguments every script gets."""
        return self._scripts[name](
            keys=[self._stream, self._key("pending"), self._key("claimed"), *extra_keys],
            args=[
                self._key("entry", ""),
                CONSUMER_GROUP,
                POOL_CONSUMER,
                AGENT_CONSUMER_PREFIX,
                *extra_args,
            ],
        )

    # -- operations --------------------------------------------------------------

    def enqueue(self, packet: dict[str, Any]) -> str:
        handoff_id, conversation_id = queue_entry.packet_ids(packet)
        text = queue_entry.dump_packet(packet)
        priority = queue_entry.packet_priority(packet)
        with self._translate("enqueuing a packet"):
            entry_id, added = self._run(
                "enqueue",
                [self._key("handoff", handoff_id), self._key("conversation", conversation_id)],
                [text, handoff_id, conversation_id, priority, queue_entry.priority_rank(priority)],
            )
        if added:
            logger.info(
                "Queued handoff %s of conversation %s as %s on %s",
                handoff_id,
                conversation_id,
                entry_id,
                self._stream,
            )
        else:
            logger.info("Handoff %s is already queued as %s", handoff_id, entry_id)
        return str(entry_id)

    def pending(self, limit: int = 100) -> list[QueueEntry]:
        queue_entry.check_limit(limit)
        with self._translate("listing pending entries"):
            ids = [entry_id for entry_id, _ in self._ordered(self._key("pending"), limit)]
            entries = self._load(ids)
        return [entry for entry in entries if entry.status == PENDING]

    def open_entries(self, limit: int = 200) -> list[QueueEntry]:
        queue_entry.check_limit(limit)
        with self._translate("listing open entries"):
            merged = self._ordered(self._key("pending"), limit) + self._ordered(
                self._key("claimed"), limit
            )
            merged.sort(key=lambda item: (item[1], _id_order(item[0])))
            entries = self._load([entry_id for entry_id, _ in merged[:limit]])
        return [entry for entry in entries if entry.status in (PENDING, CLAIMED)]

    def held_by(self, agent_id: str) -> list[QueueEntry]:
        queue_entry.check_agent_id(agent_id)
        consumer = f"{AGENT_CONSUMER_PREFIX}{agent_id}"
        with self._translate("listing an agent's entries"):
            ids: list[str] = []
            start = "-"
            for _ in range(_MAX_ROUNDS):
                page = self._client.xpending_range(
                    self._stream, CONSUMER_GROUP, min=start, max="+", count=_BATCH,
                    consumername=consumer,
                )  # fmt: skip
                ids.extend(item["message_id"] for item in page)
                if len(page) < _BATCH:
                    break
                start = f"({page[-1]['message_id']}"
            entries = self._load(ids)
        owned = [e for e in entries if e.status == CLAIMED and e.claimed_by == agent_id]
        return sorted(owned, key=_queue_order)

    def get(self, entry_id: str) -> QueueEntry | None:
        if not isinstance(entry_id, str) or not _STREAM_ID_RE.match(entry_id):
            return None
        with self._translate("reading an entry"):
            entries = self._load([entry_id])
        return entries[0] if entries else None

    def find_by_conversation(self, conversation_id: str) -> list[QueueEntry]:
        with self._translate("finding a conversation's entries"):
            # The client decodes responses (decode_responses=True): ids are str.
            ids = cast(
                list[str], self._client.lrange(self._key("conversation", conversation_id), 0, -1)
            )
            return self._load(ids)

    def renew(self, agent_id: str) -> list[QueueEntry]:
        queue_entry.check_agent_id(agent_id)
        with self._translate("renewing leases"):
            ids = self._run("renew", [], [RENEW.as_json, agent_id, self._lease_ms])
            entries = self._load(ids)
        return sorted(entries, key=_queue_order)

    def deliver(self, count: int = _BATCH) -> Delivery:
        queue_entry.check_limit(count)
        with self._translate("delivering entries"):
            delivered, reoffered = self._run(
                "deliver", [], [REOFFER.as_json, self._lease_ms, count, _MAX_ROUNDS]
            )
        if reoffered:
            logger.info(
                "Re-offered %d handoff queue entries whose lease ran out: %s",
                len(reoffered),
                ", ".join(reoffered),
            )
        return Delivery(delivered=tuple(delivered), reoffered=tuple(reoffered))

    def erase_conversation(self, conversation_id: str) -> int:
        conversation_key = self._key("conversation", conversation_id)
        with self._translate("erasing a conversation"):
            ids = cast(list[str], self._client.lrange(conversation_key, 0, -1))
            self._delete_entries(ids)
            self._client.delete(conversation_key)
        return len(ids)

    def purge_resolved(self, before: datetime) -> int:
        purged = 0
        start = "-"
        with self._translate("purging resolved entries"):
            for _ in range(_MAX_ROUNDS * 100):
                page = self._client.xrange(self._stream, min=start, max="+", count=_BATCH)
                ids = [entry_id for entry_id, _ in page]
                old = [
                    entry.entry_id
                    for entry in self._load(ids)
                    if entry.status == RESOLVED and entry.resolved_at and entry.resolved_at < before
                ]
                self._delete_entries(old)
                purged += len(old)
                if len(page) < _BATCH:
                    break
                start = f"({ids[-1]}"
        return purged

    def _delete_entries(self, ids: Sequence[str]) -> None:
        """Removes entries from the stream, the group, the sets and their keys."""
        if not ids:
            return
        handoffs = self._packets(ids)
        pipe = self._client.pipeline(transaction=True)
        for entry_id in ids:
            packet = handoffs.get(entry_id)
            if packet:
                data = queue_entry.load_packet(packet, entry_id)
                pipe.delete(self._key("handoff", str(data.get("handoff_id"))))
                conversation = str(data.get("conversation_id"))
                pipe.lrem(self._key("conversation", conversation), 0, entry_id)
            pipe.xack(self._stream, CONSUMER_GROUP, entry_id)
            pipe.xdel(self._stream, entry_id)
            pipe.zrem(self._key("pending"), entry_id)
            pipe.zrem(self._key("claimed"), entry_id)
            pipe.delete(self._key("entry", entry_id))
        pipe.execute()

    def close(self) -> None:
        self._closed = True
        self._pool.disconnect()

    # -- helpers -----------------------------------------------------------------

    @contextlib.contextmanager
    def _translate(self, action: str) -> Iterator[None]:
        """Turns Redis errors into :class:`QueueError` and creates the group once."""
        if self._closed:
            raise QueueError(f"{self!r} is closed")
        try:
            self._ensure_group()
            yield
        except redis.RedisError as exc:
            raise QueueError(
                f"handoff queue Redis {self!r} failed while {action}: {type(exc).__name__}: {exc}"
            ) from exc

    def _ensure_group(self) -> None:
        if self._group_ready:
            return
        with self._group_lock:
            if self._group_ready:
                return
            try:
                self._client.xgroup_create(self._stream, CONSUMER_GROUP, id="0", mkstream=True)
                logger.info("Created consumer group %s on %s", CONSUMER_GROUP, self._stream)
            except redis.ResponseError as exc:
                if not str(exc).startswith("BUSYGROUP"):
                    raise
            self._group_ready = True

    def _ordered(self, key: str, limit: int) -> list[tuple[str, float]]:
        """The first ``limit`` members of a sorted set by score, ties in stream order."""
        head = cast(
            list[tuple[str, float]], self._client.zrange(key, 0, limit - 1, withscores=True)
        )
        if len(head) == limit:
            # Entries of the same millisecond and priority share a score and sort as
            # strings ("…-10" before "…-2"): fetch every tie of the last score and re-sort.
            last_score = head[-1][1]
            ties = cast(
                list[tuple[str, float]],
                self._client.zrangebyscore(key, last_score, last_score, withscores=True),
            )
            head = list(dict(head + ties).items())
        return sorted(head, key=lambda item: (item[1], _id_order(item[0])))[:limit]

    def _apply(
        self, rule: Transition, entry_id: str, agent_id: str, resolution_code: str | None
    ) -> tuple[bool, QueueEntry | None]:
        if not isinstance(entry_id, str) or not _STREAM_ID_RE.match(entry_id):
            return False, None
        with self._translate(f"applying {rule.name!r} to an entry"):
            outcome, flat_state = self._run(
                "transition",
                [],
                [
                    rule.as_json,
                    entry_id,
                    agent_id,
                    self._lease_ms,
                    resolution_code or "",
                ],
            )
            if outcome == -1:
                return False, None
            state = dict(zip(flat_state[::2], flat_state[1::2], strict=True))
            packets = self._packets([entry_id])
        return outcome == 1, _to_entry(entry_id, state, packets.get(entry_id))

    def _packets(self, ids: Sequence[str]) -> dict[str, str]:
        """Reads the packets of stream entries (entries that do not exist are left out)."""
        pipe = self._client.pipeline(transaction=False)
        for entry_id in ids:
            pipe.xrange(self._stream, entry_id, entry_id, count=1)
        packets: dict[str, str] = {}
        for entry_id, found in zip(ids, pipe.execute(), strict=True):
            if found:
                packets[entry_id] = found[0][1].get("packet", "")
        return packets

    def _load(self, ids: Sequence[str]) -> list[QueueEntry]:
        """Reads entries in the given order; ids with no state are left out."""
        if not ids:
            return []
        pipe = self._client.pipeline(transaction=False)  # one round trip for everything
        for entry_id in ids:
            pipe.hgetall(self._key("entry", entry_id))
            pipe.xrange(self._stream, entry_id, entry_id, count=1)
        replies = pipe.execute()
        entries = []
        for entry_id, state, found in zip(ids, replies[::2], replies[1::2], strict=True):
            if state:
                packet = found[0][1].get("packet", "") if found else None
                entries.append(_to_entry(entry_id, state, packet))
        return entries


def _id_order(entry_id: str) -> tuple[int, int]:
    match = _STREAM_ID_RE.match(entry_id)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def _queue_order(entry: QueueEntry) -> tuple[int, tuple[int, int]]:
    return queue_entry.priority_rank(entry.priority), _id_order(entry.entry_id)


def _parse_time(entry_id: str, value: str | None) -> datetime | None:
    """Milliseconds since the epoch (or ISO 8601, written by an earlier version)."""
    if not value:
        return None
    try:
        if value.isdigit():
            return datetime.fromtimestamp(int(value) / 1000, timezone.utc)
        return datetime.fromisoformat(value)
    except (ValueError, OverflowError) as exc:
        raise QueueError(f"handoff queue entry {entry_id!r} has a corrupt timestamp") from exc


def _count(entry_id: str, value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError as exc:
        raise QueueError(f"handoff queue entry {entry_id!r} has a corrupt counter") from exc


def _to_entry(entry_id: str, state: dict[str, str], packet: str | None) -> QueueEntry:
    if packet is None:
        raise QueueError(f"handoff queue entry {entry_id!r} has state but no stream entry")
    status = state.get("status")
    enqueued_at = _parse_time(entry_id, state.get("enqueued_at"))
    if status not in STATUSES or enqueued_at is None:
        raise QueueError(f"handoff queue entry {entry_id!r} has a corrupt state hash")
    data = queue_entry.load_packet(packet, entry_id)
    lease_expires_at = _parse_time(entry_id, state.get("lease_expires_at"))
    return QueueEntry(
        entry_id=entry_id,
        packet=data,
        status=status,  # type: ignore[arg-type]  # checked against STATUSES above
        enqueued_at=enqueued_at,
        claimed_by=state.get("claimed_by"),
        claimed_at=_parse_time(entry_id, state.get("claimed_at")),
        resolved_at=_parse_time(entry_id, state.get("resolved_at")),
        resolution_code=state.get("resolution_code"),
        priority=state.get("priority") or queue_entry.packet_priority(data),
        first_claimed_at=_parse_time(entry_id, state.get("first_claimed_at")),
        lease_expires_at=lease_expires_at if status == CLAIMED else None,
        claims=_count(entry_id, state.get("claims")),
        reoffers=_count(entry_id, state.get("reoffers")),
    )
