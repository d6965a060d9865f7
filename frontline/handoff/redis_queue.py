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

Every change of state is one Lua script, so it is atomic: the state hash, the sorted
sets and the consumer group change together, after checking the current state. Two
agents therefore never own one entry.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from frontline.errors import ConfigurationError, QueueError
from frontline.handoff.base import (
    CLAIMED,
    DEFAULT_LEASE_SECONDS,
    PENDING,
    RESOLVED,
    STATUSES,
    Delivery,
    HandoffQueue,
    QueueEntry,
    check_agent_id,
    check_lease_seconds,
    check_limit,
    check_resolution_code,
    dump_packet,
    load_packet,
    packet_ids,
    packet_priority,
    priority_rank,
    transition_error,
)

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

# Every script gets KEYS = stream, pending set, claimed set (+ its own keys) and
# ARGV = entry key prefix, group, pool consumer, agent consumer prefix (+ its own).
_PRELUDE = """
local stream, pending_key, claimed_key = KEYS[1], KEYS[2], KEYS[3]
local prefix, group, pool, agent_prefix = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function fmt(n)
  return string.format('%.0f', n)
end

-- Priority rank, then the enqueue millisecond: the order of the queue.
local function score_of(key, id)
  local score = redis.call('HGET', key, 'score')
  if score then return score end
  local ms = string.match(id, '^(%d+)-')
  return '2' .. string.rep('0', 13 - #ms) .. ms
end

-- Moves an entry of the group's pending entries list to a consumer; resets its idle time.
local function hold(id, consumer)
  redis.call('XCLAIM', stream, group, consumer, 0, id, 'JUSTID')
end

-- Puts an entry the group has just handed to the pool where its state says it belongs.
local function settle(id)
  local key = prefix .. id
  local status = redis.call('HGET', key, 'status')
  if status == 'resolved' then
    redis.call('XACK', stream, group, id)
  elseif status == 'claimed' then
    hold(id, agent_prefix .. redis.call('HGET', key, 'claimed_by'))
  end
end

-- XREADGROUP: delivers the entries the group has not read yet to the pool.
local function deliver_new(count, rounds, delivered)
  for _ = 1, rounds do
    local reply = redis.call('XREADGROUP', 'GROUP', group, pool, 'COUNT', count,
      'STREAMS', stream, '>')
    if not reply then return end
    local entries = reply[1][2]
    for _, item in ipairs(entries) do
      settle(item[1])
      if delivered then table.insert(delivered, item[1]) end
    end
    if #entries < count then return end
  end
end

-- Back to pending: no owner, no lease, held by the pool.
local function make_pending(key, id)
  redis.call('HSET', key, 'status', 'pending')
  redis.call('HDEL', key, 'claimed_by', 'claimed_at', 'lease_expires_at')
  redis.call('HINCRBY', key, 'reoffers', 1)
  redis.call('ZREM', claimed_key, id)
  redis.call('ZADD', pending_key, score_of(key, id), id)
  hold(id, pool)
end

-- Makes agent the owner for one lease.
local function take(key, id, agent, now, lease_ms)
  redis.call('HSET', key, 'status', 'claimed', 'claimed_by', agent,
    'claimed_at', fmt(now), 'lease_expires_at', fmt(now + lease_ms))
  redis.call('HSETNX', key, 'first_claimed_at', fmt(now))
  redis.call('HINCRBY', key, 'claims', 1)
  redis.call('ZREM', pending_key, id)
  redis.call('ZADD', claimed_key, score_of(key, id), id)
  hold(id, agent_prefix .. agent)
end

local function lease_of(key)
  return tonumber(redis.call('HGET', key, 'lease_expires_at') or '0') or 0
end
"""

# KEYS +: dedupe key, conversation list.  ARGV +: packet JSON, handoff id,
# conversation id, priority, priority rank.
# Returns {entry id, 1 if added / 0 if the handoff was queued already}.
_ENQUEUE_LUA = (
    _PRELUDE
    + """
local existing = redis.call('GET', KEYS[4])
if existing then
  return {existing, 0}
end
for _, other in ipairs(redis.call('LRANGE', KEYS[5], 0, -1)) do
  local status = redis.call('HGET', prefix .. other, 'status')
  if status == 'pending' or status == 'claimed' then
    return {other, 0}  -- one open handoff per conversation
  end
end
local id = redis.call('XADD', stream, '*',
  'packet', ARGV[5], 'handoff_id', ARGV[6], 'conversation_id', ARGV[7])
local ms = string.match(id, '^(%d+)-')
local score = ARGV[9] .. string.rep('0', 13 - #ms) .. ms
redis.call('SET', KEYS[4], id, 'NX')
redis.call('HSET', prefix .. id, 'status', 'pending', 'handoff_id', ARGV[6],
  'conversation_id', ARGV[7], 'priority', ARGV[8], 'score', score,
  'enqueued_at', fmt(now_ms()), 'claims', 0, 'reoffers', 0)
redis.call('ZADD', pending_key, score, id)
redis.call('RPUSH', KEYS[5], id)
return {id, 1}
"""
)

# ARGV +: entry id, agent id, lease ms.
# Returns {1 if claimed now / 0 if not / -1 if missing, the hash as a flat list}.
_CLAIM_LUA = (
    _PRELUDE
    + """
local id, agent, lease_ms = ARGV[5], ARGV[6], tonumber(ARGV[7])
local key = prefix .. id
if redis.call('EXISTS', key) == 0 then
  return {-1, {}}
end
local now = now_ms()
local status = redis.call('HGET', key, 'status')
local taking_over = false
if status == 'claimed' then
  if redis.call('HGET', key, 'claimed_by') == agent or lease_of(key) > now then
    return {0, redis.call('HGETALL', key)}
  end
  taking_over = true
elseif status ~= 'pending' then
  return {0, redis.call('HGETALL', key)}
end
deliver_new(100, 1000, nil)
take(key, id, agent, now, lease_ms)
if taking_over then
  redis.call('HINCRBY', key, 'reoffers', 1)
end
return {1, redis.call('HGETALL', key)}
"""
)

# ARGV +: entry id, agent id, lease ms.  Returns like the claim.
_REASSIGN_LUA = (
    _PRELUDE
    + """
local id, agent, lease_ms = ARGV[5], ARGV[6], tonumber(ARGV[7])
local key = prefix .. id
if redis.call('EXISTS', key) == 0 then
  return {-1, {}}
end
local status = redis.call('HGET', key, 'status')
local owner = redis.call('HGET', key, 'claimed_by')
if status == 'resolved' or (status == 'claimed' and owner == agent) then
  return {0, redis.call('HGETALL', key)}
end
deliver_new(100, 1000, nil)
take(key, id, agent, now_ms(), lease_ms)
return {1, redis.call('HGETALL', key)}
"""
)

# ARGV +: entry id, agent id.  Returns like the claim.
_RELEASE_LUA = (
    _PRELUDE
    + """
local id, agent = ARGV[5], ARGV[6]
local key = prefix .. id
if redis.call('EXISTS', key) == 0 then
  return {-1, {}}
end
local status = redis.call('HGET', key, 'status')
if status ~= 'claimed' or redis.call('HGET', key, 'claimed_by') ~= agent then
  return {0, redis.call('HGETALL', key)}
end
make_pending(key, id)
return {1, redis.call('HGETALL', key)}
"""
)

# ARGV +: agent id, lease ms.  Returns the ids the agent still owns, leases renewed.
_RENEW_LUA = (
    _PRELUDE
    + """
local agent, lease_ms = ARGV[5], tonumber(ARGV[6])
local consumer = agent_prefix .. agent
local now = now_ms()
local held = {}
local start = '-'
for _ = 1, 1000 do
  local entries = redis.call('XPENDING', stream, group, start, '+', 100, consumer)
  for _, item in ipairs(entries) do
    local id = item[1]
    local key = prefix .. id
    if redis.call('HGET', key, 'status') == 'claimed'
        and redis.call('HGET', key, 'claimed_by') == agent then
      redis.call('HSET', key, 'lease_expires_at', fmt(now + lease_ms))
      hold(id, consumer)
      table.insert(held, id)
    else
      settle(id)
    end
  end
  if #entries < 100 then break end
  start = '(' .. entries[#entries][1]
end
return held
"""
)

# ARGV +: lease ms (the idle time after which an entry's holder is presumed dead),
# batch size, most rounds.  Returns {delivered ids, re-offered ids}.
_DELIVER_LUA = (
    _PRELUDE
    + """
local lease_ms, count, rounds = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local delivered, reoffered = {}, {}
deliver_new(count, rounds, delivered)
local now = now_ms()
local cursor = '0-0'
for _ = 1, rounds do
  local reply = redis.call('XAUTOCLAIM', stream, group, pool, lease_ms, cursor,
    'COUNT', count, 'JUSTID')
  for _, id in ipairs(reply[2]) do
    local key = prefix .. id
    local status = redis.call('HGET', key, 'status')
    if status == 'claimed' then
      if lease_of(key) <= now then
        make_pending(key, id)
        table.insert(reoffered, id)
      else
        -- Renewed meanwhile (or a longer lease): it stays with its owner.
        hold(id, agent_prefix .. redis.call('HGET', key, 'claimed_by'))
      end
    elseif status == 'resolved' then
      redis.call('XACK', stream, group, id)
    end
  end
  cursor = reply[1]
  if cursor == '0-0' then break end
end
return {delivered, reoffered}
"""
)

# ARGV +: entry id, agent id, resolution code.  Returns like the claim.
_RESOLVE_LUA = (
    _PRELUDE
    + """
local id, agent, code = ARGV[5], ARGV[6], ARGV[7]
local key = prefix .. id
if redis.call('EXISTS', key) == 0 then
  return {-1, {}}
end
local now = fmt(now_ms())
local status = redis.call('HGET', key, 'status')
if status == 'pending' then
  redis.call('HSET', key, 'claimed_by', agent, 'claimed_at', now)
  redis.call('HSETNX', key, 'first_claimed_at', now)
  redis.call('HINCRBY', key, 'claims', 1)
elseif not (status == 'claimed' and redis.call('HGET', key, 'claimed_by') == agent) then
  return {0, redis.call('HGETALL', key)}
end
redis.call('HSET', key, 'status', 'resolved', 'resolution_code', code, 'resolved_at', now)
redis.call('HDEL', key, 'lease_expires_at')
redis.call('ZREM', pending_key, id)
redis.call('ZREM', claimed_key, id)
redis.call('XACK', stream, group, id)
return {1, redis.call('HGETALL', key)}
"""
)


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
        self.lease_seconds = check_lease_seconds(lease_seconds)
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
        self._scripts = {
            name: self._client.register_script(source)
            for name, source in (
                ("enqueue", _ENQUEUE_LUA),
                ("claim", _CLAIM_LUA),
                ("reassign", _REASSIGN_LUA),
                ("release", _RELEASE_LUA),
                ("renew", _RENEW_LUA),
                ("deliver", _DELIVER_LUA),
                ("resolve", _RESOLVE_LUA),
            )
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

    def _dedupe_key(self, handoff_id: str) -> str:
        return f"{self._stream}:handoff:{handoff_id}"

    def _entry_key(self, entry_id: str) -> str:
        return f"{self._stream}:entry:{entry_id}"

    def _conversation_key(self, conversation_id: str) -> str:
        return f"{self._stream}:conversation:{conversation_id}"

    @property
    def _pending_key(self) -> str:
        return f"{self._stream}:pending"

    @property
    def _claimed_key(self) -> str:
        return f"{self._stream}:claimed"

    def _run(self, name: str, extra_keys: Sequence[str], extra_args: Sequence[Any]) -> Any:
        """Runs one of the scripts with the keys and arguments every script gets."""
        return self._scripts[name](
            keys=[self._stream, self._pending_key, self._claimed_key, *extra_keys],
            args=[
                f"{self._stream}:entry:",
                CONSUMER_GROUP,
                POOL_CONSUMER,
                AGENT_CONSUMER_PREFIX,
                *extra_args,
            ],
        )

    # -- operations --------------------------------------------------------------

    def enqueue(self, packet: dict[str, Any]) -> str:
        handoff_id, conversation_id = packet_ids(packet)
        text = dump_packet(packet)
        priority = packet_priority(packet)
        with self._translate("enqueuing a packet"):
            entry_id, added = self._run(
                "enqueue",
                [self._dedupe_key(handoff_id), self._conversation_key(conversation_id)],
                [text, handoff_id, conversation_id, priority, priority_rank(priority)],
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
            ids = [entry_id for entry_id, _ in self._ordered(self._pending_key, limit)]
            entries = self._load(ids)
        return [entry for entry in entries if entry.status == PENDING]

    def open_entries(self, limit: int = 200) -> list[QueueEntry]:
        check_limit(limit)
        with self._translate("listing open entries"):
            merged = self._ordered(self._pending_key, limit) + self._ordered(
                self._claimed_key, limit
            )
            merged.sort(key=lambda item: (item[1], _id_order(item[0])))
            entries = self._load([entry_id for entry_id, _ in merged[:limit]])
        return [entry for entry in entries if entry.status in (PENDING, CLAIMED)]

    def held_by(self, agent_id: str) -> list[QueueEntry]:
        check_agent_id(agent_id)
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
            ids = self._client.lrange(self._conversation_key(conversation_id), 0, -1)
            return self._load(ids)

    def claim(self, entry_id: str, agent_id: str) -> QueueEntry:
        check_agent_id(agent_id)
        won, entry = self._transition("claim", entry_id, [agent_id, self._lease_ms], "claiming")
        if won and entry is not None:
            logger.info("Agent %s claimed handoff queue entry %s", agent_id, entry_id)
            return entry
        if entry is not None and entry.status == CLAIMED and entry.claimed_by == agent_id:
            return entry
        raise transition_error(entry, entry_id, agent_id)

    def renew(self, agent_id: str) -> list[QueueEntry]:
        check_agent_id(agent_id)
        with self._translate("renewing leases"):
            ids = self._run("renew", [], [agent_id, self._lease_ms])
            entries = self._load(ids)
        return sorted(entries, key=_queue_order)

    def release(self, entry_id: str, agent_id: str) -> QueueEntry:
        check_agent_id(agent_id)
        won, entry = self._transition("release", entry_id, [agent_id], "releasing")
        if won and entry is not None:
            logger.info("Agent %s released handoff queue entry %s", agent_id, entry_id)
            return entry
        raise transition_error(entry, entry_id, agent_id)

    def reassign(self, entry_id: str, agent_id: str) -> QueueEntry:
        check_agent_id(agent_id)
        won, entry = self._transition(
            "reassign", entry_id, [agent_id, self._lease_ms], "reassigning"
        )
        if won and entry is not None:
            logger.info("Handoff queue entry %s reassigned to agent %s", entry_id, agent_id)
            return entry
        if entry is not None and entry.status == CLAIMED and entry.claimed_by == agent_id:
            return entry
        raise transition_error(entry, entry_id, agent_id)

    def deliver(self, count: int = _BATCH) -> Delivery:
        check_limit(count)
        with self._translate("delivering entries"):
            delivered, reoffered = self._run("deliver", [], [self._lease_ms, count, _MAX_ROUNDS])
        if reoffered:
            logger.info(
                "Re-offered %d handoff queue entries whose lease ran out: %s",
                len(reoffered),
                ", ".join(reoffered),
            )
        return Delivery(delivered=tuple(delivered), reoffered=tuple(reoffered))

    def resolve(self, entry_id: str, agent_id: str, resolution_code: str) -> QueueEntry:
        check_agent_id(agent_id)
        check_resolution_code(resolution_code)
        won, entry = self._transition("resolve", entry_id, [agent_id, resolution_code], "resolving")
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

    def _ordered(self, key: str, limit: int) -> list[tuple[str, float]]:
        """The first ``limit`` members of a sorted set by score, ties in stream order."""
        head = self._client.zrange(key, 0, limit - 1, withscores=True)
        if len(head) == limit:
            # Entries of the same millisecond and priority share a score and sort as
            # strings ("…-10" before "…-2"): fetch every tie of the last score and re-sort.
            last_score = head[-1][1]
            ties = self._client.zrangebyscore(key, last_score, last_score, withscores=True)
            head = list(dict(head + ties).items())
        return sorted(head, key=lambda item: (item[1], _id_order(item[0])))[:limit]

    def _transition(
        self, script: str, entry_id: str, args: list[Any], action: str
    ) -> tuple[bool, QueueEntry | None]:
        """Runs a state-changing script; returns whether it won, and the entry."""
        if not isinstance(entry_id, str) or not _STREAM_ID_RE.match(entry_id):
            return False, None
        with self._translate(f"{action} an entry"):
            outcome, flat_state = self._run(script, [], [entry_id, *args])
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
            pipe.hgetall(self._entry_key(entry_id))
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
    return priority_rank(entry.priority), _id_order(entry.entry_id)


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
    data = load_packet(packet, entry_id)
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
        priority=state.get("priority") or packet_priority(data),
        first_claimed_at=_parse_time(entry_id, state.get("first_claimed_at")),
        lease_expires_at=lease_expires_at if status == CLAIMED else None,
        claims=_count(entry_id, state.get("claims")),
        reoffers=_count(entry_id, state.get("reoffers")),
    )
