"""``make fuzz``: hostile messages over REST, socket.io and Slack against running servers.

    python -m bench.fuzz [--messages 10000] [--seed 16]

Starts the sandbox, the action server, the Rasa server (SQLite tracker store, laptop
defaults, loose rate limits so that hostile input reaches every check instead of
bouncing off a 429) and a fake Slack Web API, then sends ``--messages`` requests from
:mod:`bench.hostile`: half over REST, a quarter as raw socket.io packets, a quarter as
Slack requests signed with the app's secret. Every HTTP answer must be below 500, the
servers must stay up (checked every 250 messages and at the end, when a normal
conversation must still work), and socket.io connections must stay open.

Figures go to ``bench/results/fuzz.{json,md}``; :func:`run_fuzz` is also the short
variant the test suite runs (``tests/e2e/test_fuzz.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import queue
import random
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import socketio

from bench.hostile import SLACK_DM, SLACK_USER, rest_request, slack_request, socket_packet
from frontline.channels.sessions import TOKEN_HEADER
from tests.support.fake_slack import FakeSlack, SlackSender
from tests.support.processes import (
    REPO_ROOT,
    ServerProcess,
    action_server_process,
    rasa_server_process,
    sandbox_process,
)

RESULTS = REPO_ROOT / "bench" / "results"
MODEL = REPO_ROOT / "models" / "frontline.tar.gz"
CHECK_EVERY = 250
#: The input ceiling of policies/limits.yml: bigger bodies may be cut off mid-upload.
MAX_REQUEST_BYTES = 65536


@dataclass
class FuzzReport:
    """What the servers answered, by channel."""

    messages: int = 0
    statuses: dict[str, collections.Counter[str]] = field(
        default_factory=lambda: collections.defaultdict(collections.Counter)
    )
    server_errors: list[dict[str, Any]] = field(default_factory=list)
    transport_errors: list[str] = field(default_factory=list)
    socket_disconnects: int = 0
    #: Connections that ended after the fuzzer itself sent a CONNECT or DISCONNECT packet.
    socket_disconnects_requested: int = 0
    #: Connections the server closed after a packet over the size limit (engine.io's way).
    socket_closed_oversized: int = 0
    socket_error_replies: int = 0
    liveness_checks: int = 0
    dead_processes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def record(self, channel: str, status: int, kind: str, sample: bytes | str) -> None:
        self.messages += 1
        self.statuses[channel][str(status)] += 1
        if status >= 500:
            text = sample if isinstance(sample, str) else sample[:300].decode("latin-1")
            self.server_errors.append(
                {"channel": channel, "status": status, "kind": kind, "sample": text[:300]}
            )

    def summary(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "seconds": round(self.seconds, 1),
            "statuses": {channel: dict(counts) for channel, counts in self.statuses.items()},
            "responses_5xx": len(self.server_errors),
            "examples_5xx": self.server_errors[:10],
            "transport_errors": len(self.transport_errors),
            "examples_transport": self.transport_errors[:10],
            "socket_disconnects": self.socket_disconnects,
            "socket_disconnects_requested": self.socket_disconnects_requested,
            "socket_closed_oversized": self.socket_closed_oversized,
            "socket_error_replies": self.socket_error_replies,
            "liveness_checks": self.liveness_checks,
            "dead_processes": self.dead_processes,
        }


async def _rest(
    session: aiohttp.ClientSession,
    url: str,
    rng: random.Random,
    report: FuzzReport,
    tokens: list[tuple[str, str]],
) -> None:
    request = rest_request(rng, tokens)
    try:
        async with session.post(
            f"{url}/webhooks/rest/webhook{request.query}",
            data=request.body,
            headers=request.headers,
        ) as answer:
            await answer.read()
            report.record("rest", answer.status, request.kind, request.body)
            token = answer.headers.get(TOKEN_HEADER)
            if token and answer.status == 200 and len(tokens) < 200:
                tokens.append((json.loads(request.body)["sender"], token))
    except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError) as exc:
        if len(request.body) > MAX_REQUEST_BYTES:
            # Refused mid-upload: the server answers 413 and closes the connection while
            # the client is still sending the rest, which the client sees as a lost line.
            report.record("rest", 413, "closed_while_uploading", request.body)
            return
        report.transport_errors.append(f"rest {request.kind}: {type(exc).__name__}: {exc}"[:300])
        report.messages += 1


async def _slack(
    session: aiohttp.ClientSession,
    url: str,
    rng: random.Random,
    report: FuzzReport,
    sender: SlackSender,
) -> None:
    body, content_type, retry = slack_request(rng, sender.next_ts())
    signed = sender.sign(body, content_type, retry=retry)
    try:
        async with session.post(
            f"{url}/webhooks/slack/webhook", data=signed.body, headers=signed.headers
        ) as answer:
            await answer.read()
            report.record("slack", answer.status, content_type, body)
    except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError) as exc:
        report.transport_errors.append(f"slack: {type(exc).__name__}: {exc}"[:300])
        report.messages += 1


class SocketLane:
    """One web chat connection sending raw packets; reconnects if the server drops it.

    python-socketio's synchronous client (its asyncio client's WebSocket needs a newer
    aiohttp than Rasa allows), driven from a worker thread.
    """

    def __init__(self, url: str, report: FuzzReport) -> None:
        self.url = url
        self.report = report
        self.client: socketio.Client | None = None
        self.token: str | None = None
        self.asked_to_leave = False
        self.oversized = False

    def connect(self) -> None:
        client = socketio.Client(reconnection=False)
        confirmed: queue.Queue[Any] = queue.Queue()
        client.on("session_confirm", confirmed.put)

        def on_reply(data: Any) -> None:
            if isinstance(data, dict) and data.get("error"):
                self.report.socket_error_replies += 1

        client.on("bot_uttered", on_reply)
        client.connect(self.url, transports=["websocket"], wait_timeout=30)
        client.emit("session_request", {"session_id": self.token})
        session = confirmed.get(timeout=30)
        self.token = session.get("session_id") if isinstance(session, dict) else session
        self.client = client

    def send_now(self, rng: random.Random) -> None:
        if self.client is None or not self.client.connected:
            if self.client is not None and self.asked_to_leave:
                self.report.socket_disconnects_requested += 1
            elif self.client is not None and self.oversized:
                self.report.socket_closed_oversized += 1
            elif self.client is not None:
                self.report.socket_disconnects += 1
            self.asked_to_leave = self.oversized = False
            self.connect()
        assert self.client is not None
        packet = socket_packet(rng, self.token)
        # socket.io's CONNECT and DISCONNECT: the client (re)handshaking its own connection.
        self.asked_to_leave |= packet[:1] in ("0", "1")
        self.oversized |= len(packet.encode("utf-8", "surrogatepass")) > MAX_REQUEST_BYTES
        self.client.eio.send(packet)
        self.report.record("socketio", 200, "packet", packet)

    async def send(self, rng: random.Random) -> None:
        try:
            await asyncio.to_thread(self.send_now, rng)
        except (socketio.exceptions.SocketIOError, OSError, queue.Empty) as exc:
            self.report.transport_errors.append(f"socketio: {type(exc).__name__}: {exc}"[:300])
            self.report.messages += 1

    async def close(self) -> None:
        if self.client is not None and self.client.connected:
            await asyncio.to_thread(self.client.disconnect)


async def _alive(
    session: aiohttp.ClientSession, url: str, processes: list[ServerProcess], report: FuzzReport
) -> None:
    report.liveness_checks += 1
    for process in processes:
        if process._process is None or process._process.poll() is not None:  # noqa: SLF001
            report.dead_processes.append(process.name)
    try:
        async with session.get(f"{url}/") as answer:
            if answer.status != 200:
                report.dead_processes.append(f"rasa answered {answer.status}")
    except aiohttp.ClientError as exc:
        report.dead_processes.append(f"rasa unreachable: {exc}")


async def run_fuzz(
    rasa_url: str,
    slack_sender: SlackSender,
    messages: int,
    *,
    seed: int = 16,
    processes: list[ServerProcess] | None = None,
    concurrency: int = 6,
) -> FuzzReport:
    """Sends ``messages`` hostile requests (about 2:1:1 REST, socket.io, Slack)."""
    rng = random.Random(seed)
    report = FuzzReport()
    tokens: list[tuple[str, str]] = []
    lanes = [SocketLane(rasa_url, report) for _ in range(concurrency)]
    started = time.monotonic()
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        plan = [rng.choice(["rest", "rest", "socketio", "slack"]) for _ in range(messages)]
        for batch_start in range(0, messages, concurrency):
            batch = plan[batch_start : batch_start + concurrency]
            jobs = []
            for offset, channel in enumerate(batch):
                lane_rng = random.Random(rng.random())
                if channel == "rest":
                    jobs.append(_rest(session, rasa_url, lane_rng, report, tokens))
                elif channel == "slack":
                    jobs.append(_slack(session, rasa_url, lane_rng, report, slack_sender))
                else:
                    jobs.append(lanes[offset].send(lane_rng))  # one job per lane and batch
            await asyncio.gather(*jobs)
            if (batch_start // concurrency) % max(CHECK_EVERY // concurrency, 1) == 0:
                await _alive(session, rasa_url, processes or [], report)
        await _alive(session, rasa_url, processes or [], report)
        for lane in lanes:
            await lane.close()
    report.seconds = time.monotonic() - started
    return report


def normal_conversation_works(rasa_url: str) -> bool:
    import requests

    sender = f"after-fuzz-{uuid.uuid4().hex[:8]}"
    first = requests.post(
        f"{rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": "hi"}, timeout=60
    )
    second = requests.post(
        f"{rasa_url}/webhooks/rest/webhook",
        json={"sender": sender, "message": "where is my order?"},
        headers={TOKEN_HEADER: first.headers.get(TOKEN_HEADER, "")},
        timeout=60,
    )
    return first.status_code == 200 and second.status_code == 200 and bool(second.json())


def write_results(summary: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "fuzz.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    lines = [
        "# Hostile-input fuzz run (`make fuzz`)",
        "",
        f"{summary['messages']:,} hostile messages in {summary['seconds']} s "
        f"(seed {summary['seed']}),",
        "against the sandbox, the action server and the Rasa server on the laptop defaults.",
        "",
        "| | value |",
        "|---|---|",
        f"| responses 5xx | {summary['responses_5xx']} |",
        f"| dead processes | {len(summary['dead_processes'])} |",
        f"| transport errors (connection dropped) | {summary['transport_errors']} |",
        f"| socket.io connections dropped by the server | {summary['socket_disconnects']} |",
        "| socket.io connections ended by the fuzzer's own CONNECT/DISCONNECT packets | "
        f"{summary['socket_disconnects_requested']} |",
        "| socket.io connections closed after a packet over 64 KiB | "
        f"{summary['socket_closed_oversized']} |",
        f"| socket.io error replies | {summary['socket_error_replies']} |",
        f"| liveness checks | {summary['liveness_checks']} |",
        "| a normal conversation afterwards | "
        + ("works |" if summary["normal_conversation_after"] else "FAILS |"),
        f"| tracebacks in the Rasa server's log | {summary['rasa_log_tracebacks']} |",
        "",
        "| channel | statuses |",
        "|---|---|",
    ]
    for channel, counts in sorted(summary["statuses"].items()):
        shown = ", ".join(f"{status}: {count}" for status, count in sorted(counts.items()))
        lines.append(f"| {channel} | {shown} |")
    (RESULTS / "fuzz.md").write_text("\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="frontline-fuzz-"))
    slack = FakeSlack().start()
    sender = SlackSender(uuid.uuid4().hex)
    started: list[ServerProcess] = []
    try:
        sandbox = sandbox_process(f"sqlite:///{folder / 'sandbox.db'}", folder).start()
        started.append(sandbox)
        env = {
            "TRACKER_STORE_URL": f"sqlite:///{folder / 'tracker.db'}",
            "FRONTLINE_DATABASE_URL": f"sqlite:///{folder / 'frontline.db'}",
            "REDIS_URL": "",
            "SANDBOX_URL": sandbox.url,
            "RASA_TELEMETRY_ENABLED": "false",
            "FRONTLINE_AS_OF": "2026-11-01T12:00:00Z",
            "SLACK_BOT_TOKEN": slack.token,
            "SLACK_SIGNING_SECRET": sender.signing_secret,
            "SLACK_API_URL": slack.url,
            "SLACK_CHANNEL": "",
        }
        actions = action_server_process(folder, env).start()
        started.append(actions)
        rasa = rasa_server_process(
            MODEL,
            folder,
            env | {"ACTION_ENDPOINT_URL": f"{actions.url}/webhook"},
            "fuzz-" + uuid.uuid4().hex,
        ).start()
        started.append(rasa)
        report = asyncio.run(
            run_fuzz(rasa.url, sender, args.messages, seed=args.seed, processes=started)
        )
        summary = report.summary() | {
            "seed": args.seed,
            "normal_conversation_after": normal_conversation_works(rasa.url),
            "rasa_log_tracebacks": rasa.log_path.read_text(errors="replace").count("Traceback"),
            "slack_channel": SLACK_DM,
            "slack_user": SLACK_USER,
        }
        write_results(summary)
        print(
            json.dumps({k: v for k, v in summary.items() if not k.startswith("examples")}, indent=2)
        )
        failed = (
            summary["responses_5xx"]
            or summary["dead_processes"]
            or not summary["normal_conversation_after"]
        )
        return 1 if failed else 0
    finally:
        for process in reversed(started):
            process.stop()
        slack.stop()


if __name__ == "__main__":
    sys.exit(main())
