"""What feature flags cost a new message, on each store (not part of ``make test``).

    python -m bench.flags [--messages 2000]

For SQLite, PostgreSQL and PostgreSQL with the Redis copy of the change counter:

* ``policy``: what :class:`~frontline.dialogue.control_policy.FlagControlPolicy` adds to
  a new message whose intent starts a write flow (the kill switch, the contact type's
  flag and the write's flag, from one view: one counter read), p50 / p95 in ms;
* ``counter``: one read of the change counter alone;
* ``evaluation``: one flag through OpenFeature's client once the view is read, and the
  same flag resolved directly (what OpenFeature's API adds).

Writes ``bench/results/flags.json`` and ``bench/results/flags.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from openfeature import api
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from frontline.dialogue.control_policy import FlagControlPolicy
from frontline.flags.capabilities import FlagCapabilityProvider
from frontline.flags.definitions import load_flags_policy
from frontline.flags.evaluation import FlagContext, resolve
from frontline.flags.provider import FrontlineFlagProvider
from frontline.flags.signal import ChangeSignal, RedisChangeSignal, SqlChangeSignal
from frontline.flags.state import FlagState
from frontline.flags.store import SqlFlagStore
from frontline.outcomes.pseudonym import pseudonymizer
from tests.support.processes import REPO_ROOT
from tests.support.servers import POSTGRES_URL, REDIS_URL, reachable
from tests.support.topology import fresh_postgres_database

RESULTS = REPO_ROOT / "bench" / "results"


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 4),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 4),
    }


def _timed(call: Callable[[], Any], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def measure(kind: str, url: str, messages: int, folder: Path) -> dict[str, Any]:
    policy = load_flags_policy()
    store = SqlFlagStore(url)
    signal: ChangeSignal = SqlChangeSignal(store)
    if kind.endswith("+redis"):
        client = redis.Redis.from_url(REDIS_URL)
        signal = RedisChangeSignal(client, store, policy.redis_ttl_seconds, key=f"bench:{kind}")
    state = FlagState(store, signal, policy.max_stale_seconds)
    domain_name = f"bench-{uuid.uuid4().hex[:8]}"
    provider = FrontlineFlagProvider(policy, state, pseudonymizer("bench-pseudonym-key-0123456789"))
    api.set_provider_and_wait(provider, domain_name)
    capabilities = FlagCapabilityProvider(client=api.get_client(domain_name), policy=policy)
    control = FlagControlPolicy(
        FlagControlPolicy.get_default_config(),
        LocalModelStorage(folder / f"storage-{kind}"),
        Resource("flags"),
        ExecutionContext(GraphSchema({}), "bench"),
        capabilities=capabilities,
    )
    domain = Domain.load(str(REPO_ROOT / "domain"))
    tracker = DialogueStateTracker.from_events(
        "bench",
        [
            ActionExecuted(ACTION_LISTEN_NAME),
            UserUttered("cancel order 482914", {"name": "cancel_order", "confidence": 0.95}),
        ],
        slots=domain.slots,
    )
    context = FlagContext("bench", "C1001", "rest", "gold")
    flag = policy.flags["write.cancel_order"]
    control.predict_action_probabilities(tracker, domain)  # connect, create tables
    policy_samples = _timed(lambda: control.predict_action_probabilities(tracker, domain), messages)
    counter_samples = _timed(signal.current, messages)
    with capabilities.consistent_view():
        through_api = _timed(lambda: capabilities.is_enabled("cancel_order", context), messages)
    snapshot = state.view().snapshot
    direct = _timed(lambda: resolve(flag, snapshot, context), messages)
    return {
        "store": kind,
        "policy": _ms(policy_samples),
        "counter": _ms(counter_samples),
        "evaluation_openfeature": _ms(through_api),
        "evaluation_direct": _ms(direct),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.flags")
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows.append(measure("sqlite", f"sqlite:///{folder / 'flags.db'}", args.messages, folder))
        if reachable(POSTGRES_URL):
            with fresh_postgres_database(POSTGRES_URL, "benchflags") as url:
                rows.append(measure("postgresql", url, args.messages, folder))
                if reachable(REDIS_URL):
                    rows.append(measure("postgresql+redis", url, args.messages, folder))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "flags.json").write_text(json.dumps({"messages": args.messages, "rows": rows}))
    lines = [
        f"# Feature flags per new message ({args.messages} messages)",
        "",
        "| store | policy p50 / p95 ms | counter read p50 / p95 ms "
        "| one flag via OpenFeature p50 ms | resolved directly p50 ms |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['store']} | {row['policy']['p50_ms']} / {row['policy']['p95_ms']} "
            f"| {row['counter']['p50_ms']} / {row['counter']['p95_ms']} "
            f"| {row['evaluation_openfeature']['p50_ms']} "
            f"| {row['evaluation_direct']['p50_ms']} |"
        )
    (RESULTS / "flags.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
