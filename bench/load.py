"""Load generator: whole scripted conversations over the REST channel.

Each virtual customer holds complete conversations with unique sender ids, one after
another, and records every turn's latency by kind:

* ``no_action``: the answer needs no custom action (greeting, FAQ, out of scope);
* ``action``: a custom action runs but calls no backend (fallback);
* ``backend``: a custom action calls a backend (verification, status, cancel, handoff).

Two load models: ``think`` (after every reply the customer waits a think time drawn
uniformly from 1 to 3 s) and ``closed`` (no think time: capacity). After the run every
sender's tracker is read back and compared with what was sent, to count lost or
reordered turns.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from frontline.channels.ids import conversation_id
from frontline.channels.sessions import TOKEN_HEADER  # the starter bot ignores it

NO_ACTION, ACTION, BACKEND = "no_action", "action", "backend"


@dataclass(frozen=True)
class Turn:
    text: str
    kind: str


@dataclass(frozen=True)
class Script:
    name: str
    turns: tuple[Turn, ...]


ScriptFactory = Callable[[random.Random], Script]


@dataclass
class TurnResult:
    sender: str
    index: int
    kind: str
    latency: float
    ok: bool
    error: str | None = None


@dataclass
class RunResult:
    target: str
    load_model: str
    concurrency: int
    duration: float
    turns: list[TurnResult] = field(default_factory=list)
    sent: dict[str, list[str]] = field(default_factory=dict)
    #: Each sender's conversation id in the server (Frontline namespaces REST ids).
    conversations: dict[str, str] = field(default_factory=dict)
    lost: int = 0
    reordered: int = 0
    checked_conversations: int = 0
    cpu_ms_per_turn: dict[str, float] = field(default_factory=dict)

    @property
    def ok_turns(self) -> int:
        return sum(1 for t in self.turns if t.ok)

    def summary(self) -> dict[str, Any]:
        ok = [t for t in self.turns if t.ok]
        by_kind = {}
        for kind in (NO_ACTION, ACTION, BACKEND):
            latencies = sorted(t.latency for t in ok if t.kind == kind)
            if latencies:
                by_kind[kind] = {"turns": len(latencies), **percentiles(latencies)}
        return {
            "target": self.target,
            "load_model": self.load_model,
            "concurrency": self.concurrency,
            "duration_s": round(self.duration, 1),
            "turns": len(self.turns),
            "errors": len(self.turns) - len(ok),
            "error_examples": sorted({t.error for t in self.turns if t.error})[:5],
            "throughput_msg_per_s": round(len(ok) / self.duration, 2),
            "latency_ms": by_kind,
            "latency_all_ms": percentiles(sorted(t.latency for t in ok)) if ok else {},
            "conversations_checked": self.checked_conversations,
            "lost_turns": self.lost,
            "reordered_turns": self.reordered,
            # Steadier than latency on a shared machine. PostgreSQL backends that exited
            # during the run are missing, so "postgres" is a lower bound.
            "cpu_ms_per_turn": self.cpu_ms_per_turn,
        }


def percentiles(sorted_latencies: list[float]) -> dict[str, float]:
    """p50, p95 and p99 in milliseconds (nearest-rank)."""

    def rank(p: float) -> float:
        index = max(0, min(len(sorted_latencies) - 1, round(p * len(sorted_latencies)) - 1))
        return round(sorted_latencies[index] * 1000, 1)

    return {
        "p50": rank(0.50),
        "p95": rank(0.95),
        "p99": rank(0.99),
        "mean": round(statistics.fmean(sorted_latencies) * 1000, 1),
    }


async def _customer(
    session: aiohttp.ClientSession,
    rasa_url: str,
    scripts: ScriptFactory,
    rng: random.Random,
    deadline: float,
    think: bool,
    result: RunResult,
) -> None:
    webhook = f"{rasa_url}/webhooks/rest/webhook"
    if think:
        # Customers are mid-way through their think time when the run starts (the steady
        # state of this load model), not all typing their first message at the same instant.
        await asyncio.sleep(rng.uniform(0.0, 3.0))
    while time.monotonic() < deadline:
        script = scripts(rng)
        sender = f"bench-{script.name}-{uuid.uuid4().hex[:10]}"
        result.sent[sender] = []
        result.conversations[sender] = sender
        token: str | None = None  # Frontline's session token, echoed as clients must
        for index, turn in enumerate(script.turns):
            if time.monotonic() >= deadline:
                return
            started = time.perf_counter()
            try:
                async with session.post(
                    webhook,
                    json={"sender": sender, "message": turn.text},
                    headers={TOKEN_HEADER: token} if token else None,
                ) as response:
                    await response.read()
                    if token is None and response.headers.get(TOKEN_HEADER):
                        token = response.headers[TOKEN_HEADER]
                        result.conversations[sender] = conversation_id("rest", sender)
                    ok, error = response.status == 200, None if response.status == 200 else (
                        f"HTTP {response.status}"
                    )
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                ok, error = False, type(exc).__name__
            latency = time.perf_counter() - started
            result.sent[sender].append(turn.text)
            result.turns.append(TurnResult(sender, index, turn.kind, latency, ok, error))
            if think:
                # The customer reads the reply and types: part of the load model.
                await asyncio.sleep(rng.uniform(1.0, 3.0))


async def _check_trackers(
    session: aiohttp.ClientSession, rasa_url: str, token: str, result: RunResult
) -> None:
    """Counts sent turns missing from, or out of order in, each sender's tracker."""
    semaphore = asyncio.Semaphore(8)

    async def check(sender: str, sent: list[str]) -> None:
        async with semaphore:
            async with session.get(
                f"{rasa_url}/conversations/{result.conversations.get(sender, sender)}/tracker",
                params={"token": token, "include_events": "ALL"},
            ) as response:
                tracker = await response.json(content_type=None)
        received = [e.get("text") for e in tracker.get("events", []) if e.get("event") == "user"]
        missing = [text for text in sent if text not in received]
        result.lost += len(missing)
        present = [text for text in sent if text in received]
        cursor = 0
        for text in present:
            try:
                cursor = received.index(text, cursor) + 1
            except ValueError:
                result.reordered += 1
        result.checked_conversations += 1

    await asyncio.gather(*(check(s, sent) for s, sent in result.sent.items() if sent))


async def run_load(
    *,
    target: str,
    rasa_url: str,
    token: str,
    scripts: ScriptFactory,
    load_model: str,
    concurrency: int,
    duration: float,
    seed: int = 7,
    warmup: float = 5.0,
    cpu_probe: Callable[[], dict[str, float]] | None = None,
) -> RunResult:
    """Drives ``concurrency`` customers for ``duration`` seconds and checks the trackers.

    A ``warmup`` of the same load comes first and is not measured: the first messages of
    a fresh server run code paths for the first time (TensorFlow traces its functions,
    connection pools fill), which is start-up cost, not latency under load.
    """
    result = RunResult(target, load_model, concurrency, duration)
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=concurrency + 8)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:

        async def drive(seconds: float, into: RunResult, seed_offset: int) -> None:
            deadline = time.monotonic() + seconds
            await asyncio.gather(
                *(
                    _customer(
                        session,
                        rasa_url,
                        scripts,
                        random.Random(seed * 1000 + seed_offset + i),
                        deadline,
                        load_model == "think",
                        into,
                    )
                    for i in range(concurrency)
                )
            )

        if warmup > 0:
            await drive(warmup, RunResult(target, "warmup", concurrency, warmup), 500)
        cpu_before = cpu_probe() if cpu_probe else {}
        # The generator shares the cores with the servers: its own CPU is part of the picture.
        cpu_before["generator"] = time.process_time()
        started = time.monotonic()
        await drive(duration, result, 0)
        result.duration = time.monotonic() - started
        if cpu_probe and result.ok_turns:
            cpu_after = cpu_probe() | {"generator": time.process_time()}
            result.cpu_ms_per_turn = {
                name: round(1000 * (seconds - cpu_before.get(name, 0.0)) / result.ok_turns, 2)
                for name, seconds in cpu_after.items()
            }
        await _check_trackers(session, rasa_url, token, result)
    return result
