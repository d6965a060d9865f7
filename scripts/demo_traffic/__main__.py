"""``make demo-traffic``: simulated customers on a running stack (``make run``).

    .venv/bin/python -m scripts.demo_traffic [--days 7] [--no-slack]

Holds the plan of :mod:`scripts.demo_traffic.plan` (about five contacts a day, a week
by default) over REST, web chat and Slack, answers the handed-off ones at the desk as
``demo-agent``, waits until the outcome writer has recorded every contact, and prints
what they came to. Then ``make report`` shows them. Contacts of earlier days are dated
back by the stack's simulated clock (``FRONTLINE_SIMULATED_CLOCK=1``, which ``make run``
sets); Slack needs the stack's demo Slack (``make run`` without ``SLACK_BOT_TOKEN``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests

from frontline.metrics.summary import compute_metrics
from frontline.outcomes.simulated_clock import simulated_id
from frontline.outcomes.sql_store import SqlOutcomeStore
from frontline.settings import get_settings
from scripts.demo_traffic.channels import (
    DemoError,
    FakeSlackApi,
    Rasa,
    RestCustomer,
    SlackCustomer,
    WebChatCustomer,
)
from scripts.demo_traffic.desk import AGENT_NAME, DeskAgent, ensure_agent
from scripts.demo_traffic.plan import CHANNELS, SCRIPTS, PlannedContact, build_plan

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
TOKEN_FILE = ROOT / "var" / "rasa_auth_token"
#: Written by scripts/run_stack.sh when it starts the demo Slack (owner-only).
SLACK_SECRET_FILE = ROOT / "var" / "demo_slack_signing_secret"
RECORD_SECONDS = 90.0
#: The script whose escalations the demo's agent marks "the assistant could have handled".
COULD_HAVE_HANDLED = "handoff_resolved_by_person"


def _read_secret(path: Path) -> str | None:
    return path.read_text(encoding="utf-8").strip() or None if path.is_file() else None


def _up(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code < 500
    except requests.RequestException:
        return False


def customer_for(
    contact: PlannedContact, run: str, rasa: Rasa, slack_secret: str | None
) -> RestCustomer | WebChatCustomer | SlackCustomer:
    """A new customer client on the contact's channel, dated ``days_back`` days ago, from
    an address of its own."""
    address = f"127.{77 + contact.days_back}.{int(run[:2], 16)}.{contact.number % 250 + 1}"
    if contact.channel == "socketio":
        return WebChatCustomer(rasa, address)
    if contact.channel == "slack" and slack_secret:
        user = simulated_id(contact.days_back, f"U0DEMO{run}{contact.number:03d}".upper())
        return SlackCustomer(rasa, slack_secret, user)
    name = simulated_id(contact.days_back, f"-demo-{run}-{contact.number}")
    return RestCustomer(rasa, name, address)


def hold(
    contact: PlannedContact,
    customer: RestCustomer | WebChatCustomer | SlackCustomer,
    agent: DeskAgent,
    sandbox_url: str,
) -> list[str]:
    """Plays the contact's script; returns the queue entries the agent resolved."""
    entries = []
    for step, value in SCRIPTS[contact.script]:
        if step == "say":
            customer.say(value)
        elif step == "desk":
            entries.append(agent.answer(customer.conversation_id, value))
        elif step == "faults":
            requests.put(f"{sandbox_url}/admin/faults", json=value, timeout=10).raise_for_status()
        elif step == "clear_faults":
            requests.delete(f"{sandbox_url}/admin/faults", timeout=10).raise_for_status()
    return entries


def wait_for_records(store: SqlOutcomeStore, conversations: list[str]) -> int:
    """Waits (bounded) until every conversation has its outcome record; returns how many."""
    deadline = time.monotonic() + RECORD_SECONDS
    missing = list(conversations)
    while missing and time.monotonic() < deadline:
        missing = [c for c in missing if not store.for_conversation(c)]
        if missing:
            time.sleep(0.5)
    return len(conversations) - len(missing)


@dataclass
class Demo:
    """Where the demo's customers go, and what they held.

    Attributes:
        rasa: The Rasa server.
        agent: The desk's demo agent, signed in.
        sandbox_url: The sandbox (its faults, for the backend failure script).
        database_url: Frontline's database (the outcome records).
        slack_secret: The stack's Slack signing secret (None: Slack contacts go over REST).
        held: Conversation ids of the contacts held.
        answered: Queue entries the agent answered, and its verdict on each.
        failed: Contacts that could not be held.
    """

    rasa: Rasa
    agent: DeskAgent
    sandbox_url: str
    database_url: str
    slack_secret: str | None = None
    held: list[str] = field(default_factory=list)
    answered: list[tuple[str, bool]] = field(default_factory=list)
    failed: int = 0

    def run(self, plan: list[PlannedContact], echo: bool = True) -> int:
        """Holds every contact of the plan, waits for their records, gives the verdicts;
        returns how many verdicts were recorded."""
        run = uuid.uuid4().hex[:6]
        for contact in plan:
            customer = customer_for(contact, run, self.rasa, self.slack_secret)
            try:
                entries = hold(contact, customer, self.agent, self.sandbox_url)
                self.held.append(customer.conversation_id)
                # The person's verdict: Jane's order status (asked of a person after the
                # assistant had shown it) could have stayed with the assistant.
                could = contact.script == COULD_HAVE_HANDLED
                self.answered += [(entry_id, could) for entry_id in entries]
            except (DemoError, requests.RequestException) as exc:
                self.failed += 1
                logger.warning("Contact %d (%s) failed: %s", contact.number, contact.script, exc)
            finally:
                customer.close()
            if echo:
                when = f"-{contact.days_back}d"
                print(f"  {contact.number:3d} {contact.channel:8s} {when:4s} {contact.script}")
        wait_for_records(SqlOutcomeStore(self.database_url), self.held)
        return sum(self.agent.judge(entry_id, could) for entry_id, could in self.answered)


def summary(database_url: str, since: float, days: int, demo: Demo, judged: int) -> None:
    """Prints what the contacts of the range came to."""
    store = SqlOutcomeStore(database_url)
    recorded = sum(1 for c in demo.held if store.for_conversation(c))
    result = compute_metrics(store, since, time.time() + 1)
    per_day = {
        time.strftime("%Y-%m-%d", time.gmtime(day * 86_400)): sum(counts.values())
        for day, counts in sorted(result.daily.items())
    }
    outcomes = Counter({k: v for k, v in result.overall.outcomes.items() if v})
    overall = result.overall
    print(f"\n{len(demo.held)} contacts held ({demo.failed} failed), {recorded} recorded.")
    print(f"{len(demo.answered)} handoffs answered at the desk, {judged} judged by the agent.")
    print(f"Contacts per day (all in the database): {per_day}")
    print(f"Outcomes: {dict(outcomes)}")
    print(
        f"Resolution {overall.resolution.value}, repeat contacts "
        f"{overall.repeat_contact.numerator}, CSAT answers {overall.csat_top2.denominator}"
    )
    if days > 1 and len(per_day) < 2:
        print(
            "All contacts are dated today: the stack runs without FRONTLINE_SIMULATED_CLOCK=1 "
            "(start it with `make run`).",
            file=sys.stderr,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make demo-traffic", description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=int(os.environ.get("DEMO_DAYS", "7")))
    parser.add_argument("--rasa-url", default=os.environ.get("RASA_URL", "http://127.0.0.1:5005"))
    parser.add_argument("--desk-url", default=os.environ.get("DESK_URL", "http://127.0.0.1:5070"))
    slack_port = int(os.environ.get("DEMO_SLACK_PORT", "5091"))
    parser.add_argument(
        "--slack-port", type=int, default=slack_port, help="the fake Web API's (0: none)"
    )
    parser.add_argument("--no-slack", action="store_true", help="REST and web chat only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")

    settings = get_settings()
    token = os.environ.get("RASA_AUTH_TOKEN") or _read_secret(TOKEN_FILE)
    if not token:
        print("No Rasa token: start the stack with `make run` first.", file=sys.stderr)
        return 2
    for name, url in (
        ("Rasa server", f"{args.rasa_url}/"),
        ("agent desk", f"{args.desk_url}/health"),
        ("sandbox", f"{settings.sandbox_url}/health"),
    ):
        if not _up(url):
            print(f"The {name} does not answer at {url}: run `make run` first.", file=sys.stderr)
            return 2
    slack_secret = None if args.no_slack else _read_secret(SLACK_SECRET_FILE)
    channels = CHANNELS if slack_secret else tuple(c for c in CHANNELS if c != "slack")
    if not slack_secret and not args.no_slack:
        print("No demo Slack in this stack (SLACK_BOT_TOKEN is set): Slack contacts go over REST.")
    plan = build_plan(args.days, channels)
    password = ensure_agent(settings.database_url)
    demo = Demo(
        Rasa(args.rasa_url, token),
        DeskAgent.sign_in(args.desk_url, AGENT_NAME, password),
        settings.sandbox_url,
        settings.database_url,
        slack_secret,
    )
    slack = FakeSlackApi(args.slack_port).start() if slack_secret and args.slack_port else None
    started = time.time()
    print(f"Holding {len(plan)} contacts over {args.days} days ({', '.join(channels)})...")
    try:
        judged = demo.run(plan)
    finally:
        if slack is not None:
            slack.stop()
    summary(settings.database_url, started - (args.days + 1) * 86_400, args.days, demo, judged)
    print("Now `make report` (or the desk's Insights view) shows them.")
    return 0 if not demo.failed else 1


if __name__ == "__main__":
    sys.exit(main())
