"""The handoff queue on a Redis Stream.

Keys, all prefixed with the stream's name (so one stream's keys can be listed, and so
a stream name with a hash tag, e.g. ``{frontline}:handoffs``, keeps them on one
cluster slot):

* ``{stream}``: the stream; one entry per handoff, field ``packet`` holds its JSON.
  Entries are never removed by the queue, and the consumer group ``agents`` is created
  at id ``0`` on first use, so a later delivery mechanism (``XREADGROUP`` with
  ``XAUTOCLAIM`` to re-offer entries of an agent that died) sees every entry.
* ``{stream}:handoff:{handoff_id}``: the entry id of a handoff (the dedupe key).
* ``{stream}:entry:{entry_id}``: a hash with the entry's state: ``status``,
  ``claimed_by``, ``claimed_at``, ``resolved_at``, ``resolution_code``, ...
  Ownership lives here, not in the group's pending-entries list, so delivering an
  entry to an agent's desk and that agent owning it stay separate concerns.
* ``{stream}:pending``: a sorted set of the pending entry ids, scored by the
  millisecond part of the id, so listing pending entries never scans the stream.
* ``{stream}:conversation:{conversation_id}``: a list of a conversation's entry ids.

Every change of state is one Lua script, so it is atomic: the ``XADD`` together with
its dedupe key and indexes, and each claim or resolution with its check of the
current state.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from frontline.errors import ConfigurationError, QueueError
from frontline.handoff.base import (
    CLAIMED,
    PENDING,
    RESOLVED,
    STATUSES,
    HandoffQueue,
    QueueEntry,
    check_agent_id,
    check_limit,
    check_resolution_code,
    dump_packet,
    load_packet,
    packet_ids,
    transition_error,
    utcnow,
)

logger = logging.getLogger(__name__)

CONSUMER_GROUP = "agents"
DEFAULT_STREAM = "frontline:handoffs"

_STREAM_ID_RE = re.compile(r"^(\d+)-(\d+)$")

# KEYS: stream, dedupe key, pending set, conversation list.
# ARGV: packet JSON, handoff id, conversation id, entry key prefix, enqueued_at.
# Returns {entry id, 1 if added / 0 if the handoff was queued already}.
_ENQUEUE_LUA = """
local existing = redis.call('GET', KEYS[2])
if existing then
  return {existing, 0}
end
local id = redis.call('XADD', KEYS[1], '*',
  'packet', ARGV[1], 'handoff_id', ARGV[2], 'conversation_id', ARGV[3])
redis.call('SET', KEYS[2], id, 'NX')
redis.call('HSET', ARGV[4] .. id, 'status', 'pending', 'handoff_id', ARGV[2],
  'conversation_id', ARGV[3], 'enqueued_at', ARGV[5])
redis.call('ZADD', KEYS[3], tonumber(string.match(id, '^(%d+)-')), id)
redis.call('RPUSH', KEYS[4], id)
return {id, 1}
"""

# KEYS: entry hash, pending set.  ARGV: entry id, agent id, claimed_at.
# Returns {1 if claimed now / 0 if not / -1 if missing, the hash as a flat list}.
_CLAIM_LUA = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {-1, {}}
end
if redis.call('HGET', KEYS[1], 'status') ~= 'pending' then
  return {0, redis.call('HGETALL', KEYS[1])}
end
redis.call('HSET', KEYS[1], 'status', 'claimed', 'claimed_by', ARGV[2], 'claimed_at', ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[1])
return {1, redis.call('HGETALL', KEYS[1])}
"""

# KEYS: entry hash, pending set.  ARGV: entry id, agent id, resolution code, resolved_at.
# Returns {1 if resolved now / 0 if not / -1 if missing, the hash as a flat list}.
_RESOLVE_LUA = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {-1, {}}
end
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'pending' then
  redis.call('HSET', KEYS[1], 'claimed_by', ARGV[2], 'claimed_at', ARGV[4])
elseif not (status == 'claimed' and redis.call('HGET', KEYS[1], 'claimed_by') == ARGV[2]) then
  return {0, redis.call('HGETALL', KEYS[1])}
end
redis.call('HSET', KEYS[1], 'status', 'resolved', 'resolution_code', ARGV[3],
  'resolved_at', ARGV[4])
redis.call('ZREM', KEYS[2], ARGV[1])
return {1, redis.call('HGETALL', KEYS[1])}
"""


class RedisStreamHandoffQueue(HandoffQueue):
    """A handoff queue on a Redis Stream (see the module docstring for the keys).

    Nothing connects until the first operation. Connecting and commands time out after
    ``timeout`` seconds; a command whose connection dropped is retried once on a new
    connection, which is safe because every operation is idempotent (a claim or a
    resolution that already went through returns the entry).

    Args:
        redis_url: ``redis://`` or ``rediss://`` URL, with the database number.
        stream: Name of the stream; it prefixes every key the queue uses.
        timeout: Seconds before connecting or a command is abandoned.

    Raises:
        ConfigurationError: The URL or the stream name is invalid.
    """

    def __init__(
        self, redis_url: str, stream: str = DEFAULT_STREAM, *, timeout: float = 5.0
    ) -> None:
        if not stream:
            raise ConfigurationError("the handoff stream name must not be empty")
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
        self._enqueue_script = self._client.register_script(_ENQUEUE_LUA)
        self._claim_script = self._client.register_script(_CLAIM_LUA)
        self._resolve_script = self._client.register_script(_RESOLVE_LUA)
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

    # -- keys --------------------------------------------------------------------

    def _dedupe_key(self, handoff_id: str) -> str:
        return f"{self._stream}:handoff:{handoff_id}"

    def _entry_key(self, entry_id: str) -> str:
        return f"{self._stream}:entry:{entry_id}"

    def _conversation_key(self, conversation_id: str) -> str:
        return f"{self._stream}:conversation:{conversation_id}"

    @property
    def _pending_key(self) -> str:
        return f"{self._stream}:pending"

    # -- operations --------------------------------------------------------------

    def enqueue(self, packet: dict[str, Any]) -> str:
        handoff_id, conversation_id = packet_ids(packet)
        text = dump_packet(packet)
        with self._translate("enqueuing a packet"):
            entry_id, added = self._enqueue_script(
                keys=[
                    self._stream,
                    self._dedupe_key(handoff_id),
                    self._pending_key,
                    self._conversation_key(conversation_id),
                ],
                args=[
                    text,
                    handoff_id,
                    conversation_id,
                    f"{self._stream}:entry:",
                    utcnow().isoformat(),
                ],
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
        check_limit(limit)
        with self._translate("listing pending entries"):
            head = self._client.zrange(self._pending_key, 0, limit - 1, withscores=True)
            ids = [member for member, _ in head]
            if len(head) == limit:
                # Entries of the same millisecond share a score and sort as strings
                # ("…-10" before "…-2"): fetch every tie of the last score and re-sort.
                last_score = head[-1][1]
                ties = self._client.zrangebyscore(self._pending_key, last_score, last_score)
                ids = sorted(set(ids) | set(ties), key=_id_order)[:limit]
            entries = self._load(ids)
        return [entry for entry in entries if entry.status == PENDING]

    def get(self, entry_id: str) -> QueueEntry | None:
        if not isinstance(entry_id, str) or not _STREAM_ID_RE.match(entry_id):
            return None
        with self._translate("reading an entry"):
            entries = self._load([entry_id])
        return entries[0] if entries else None

    def find_by_conversation(self, conversation_id: str) -> list[QueueEntry]:
        with self._translate("finding a conversation's entries"):
            ids = self._client.lrange(self._conversation_key(conversation_id), 0, -1)
            return self._load(ids)

    def claim(self, entry_id: str, agent_id: str) -> QueueEntry:
        check_agent_id(agent_id)
        won, entry = self._transition(
            self._claim_script, entry_id, [agent_id, utcnow().isoformat()], "claiming an entry"
        )
        if won and entry is not None:
            logger.info("Agent %s claimed handoff queue entry %s", agent_id, entry_id)
            return entry
        if entry is not None and entry.status == CLAIMED and entry.claimed_by == agent_id:
            return entry
        raise transition_error(entry, entry_id, agent_id)

    def resolve(self, entry_id: str, agent_id: str, resolution_code: str) -> QueueEntry:
        check_agent_id(agent_id)
        check_resolution_code(resolution_code)
        won, entry = self._transition(
            self._resolve_script,
            entry_id,
            [agent_id, resolution_code, utcnow().isoformat()],
            "resolving an entry",
        )
        if won and entry is not None:
            logger.info(
                "Agent %s resolved handoff queue entry %s as %s",
                agent_id,
                entry_id,
                resolution_code,
            )
            return entry
        if (
            entry is not None
            and entry.status == RESOLVED
            and entry.claimed_by == agent_id
            and entry.resolution_code == resolution_code
        ):
            return entry
        raise transition_error(entry, entry_id, agent_id)

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

    def _transition(
        self, script: Any, entry_id: str, args: list[str], action: str
    ) -> tuple[bool, QueueEntry | None]:
        """Runs a claim or resolve script; returns whether it won, and the entry."""
        if not isinstance(entry_id, str) or not _STREAM_ID_RE.match(entry_id):
            return False, None
        with self._translate(action):
            outcome, flat_state = script(
                keys=[self._entry_key(entry_id), self._pending_key], args=[entry_id, *args]
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
        pipe = self._client.pipeline(transaction=False)
        for entry_id in ids:
            pipe.hgetall(self._entry_key(entry_id))
        states = pipe.execute()
        known = [(entry_id, state) for entry_id, state in zip(ids, states, strict=True) if state]
        packets = self._packets([entry_id for entry_id, _ in known])
        return [_to_entry(entry_id, state, packets.get(entry_id)) for entry_id, state in known]


def _id_order(entry_id: str) -> tuple[int, int]:
    match = _STREAM_ID_RE.match(entry_id)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def _parse_time(entry_id: str, value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise QueueError(f"handoff queue entry {entry_id!r} has a corrupt timestamp") from exc


def _to_entry(entry_id: str, state: dict[str, str], packet: str | None) -> QueueEntry:
    if packet is None:
        raise QueueError(f"handoff queue entry {entry_id!r} has state but no stream entry")
    status = state.get("status")
    enqueued_at = _parse_time(entry_id, state.get("enqueued_at"))
    if status not in STATUSES or enqueued_at is None:
        raise QueueError(f"handoff queue entry {entry_id!r} has a corrupt state hash")
    return QueueEntry(
        entry_id=entry_id,
        packet=load_packet(packet, entry_id),
        status=status,  # type: ignore[arg-type]  # checked against STATUSES above
        enqueued_at=enqueued_at,
        claimed_by=state.get("claimed_by"),
        claimed_at=_parse_time(entry_id, state.get("claimed_at")),
        resolved_at=_parse_time(entry_id, state.get("resolved_at")),
        resolution_code=state.get("resolution_code"),
    )
