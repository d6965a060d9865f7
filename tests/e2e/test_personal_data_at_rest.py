"""Personal data typed in chat is nowhere at rest raw (issue 16, finding 7).

Ten customers who never verify type 35 personal values (names, street addresses,
social-security and passport numbers, card numbers and security codes, e-mail addresses,
phone numbers); one of them asks for a person, one rates the assistant with a comment.
Then every store is read directly (the tracker store's rows, the handoff packets, the
audit trail and its export, CSAT answers, outcome records, the CRM's contact history)
and every log file the servers wrote: none holds a planted value as typed.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import sqlalchemy as sa

from frontline.db import get_engine
from tests.e2e.conftest import Stack
from tests.handoff.support import wait_until
from tests.support.processes import REPO_ROOT

pytestmark = pytest.mark.e2e

# (message, the values in it as typed); a short value (a security code) is looked for
# with the words around it, since three digits alone turn up in any hash.
CONVERSATIONS: list[list[tuple[str, list[str]]]] = [
    [
        (
            "hi, my name is Amelia Thornbury and my SSN is 518-24-7731",
            ["Amelia Thornbury", "518-24-7731"],
        ),
        ("my card is 4000 0566 5566 5556, CVV 4826", ["4000 0566 5566 5556", "CVV 4826"]),
    ],
    [
        (
            "I'm Bartholomew Quince, I live at 41 Wexford Lane",
            ["Bartholomew Quince", "41 Wexford Lane"],
        ),
        (
            "reach me on +1 312 555 0187 or bquince@example.net",
            ["+1 312 555 0187", "bquince@example.net"],
        ),
    ],
    [
        ("this is Cordelia Vantwest, passport number K7719304", ["Cordelia Vantwest", "K7719304"]),
        ("ship to 907 Tamarind Avenue please", ["907 Tamarind Avenue"]),
    ],
    [
        (
            "my name is Desmond Oyelaran, social security 629-41-0085",
            ["Desmond Oyelaran", "629-41-0085"],
        ),
        (
            "the card 5200 8282 8282 8210 has security code 7391",
            ["5200 8282 8282 8210", "code 7391"],
        ),
    ],
    [
        ("I am Eulalie Marchbanks from 18 Quillon Road", ["Eulalie Marchbanks", "18 Quillon Road"]),
        (
            "email eulalie.m@example.org, phone (646) 555-0142",
            ["eulalie.m@example.org", "(646) 555-0142"],
        ),
    ],
    [
        ("my name is Florian Abernethy", ["Florian Abernethy"]),
        ("SSN 734-10-5592 and passport no. M3302918", ["734-10-5592", "M3302918"]),
    ],
    [
        (
            "hello, this is Greta Wolstenholme at 2250 Oriel Street",
            ["Greta Wolstenholme", "2250 Oriel Street"],
        ),
        ("card 4111 1111 1111 1111 cvc 5810", ["4111 1111 1111 1111", "cvc 5810"]),
    ],
    [
        (
            "my name is Horatio Pemberly, I moved to 63 Larchmont Drive",
            ["Horatio Pemberly", "63 Larchmont Drive"],
        ),
        ("call +1 415 555 0163", ["+1 415 555 0163"]),
    ],
]
HANDOFF = [
    (
        "my name is Ingrid Featherstonehaugh, my SSN is 845-62-1937",
        ["Ingrid Featherstonehaugh", "845-62-1937"],
    ),
    (
        "my card 5555 4444 3333 1111 was charged twice, CVV 6029",
        ["5555 4444 3333 1111", "CVV 6029"],
    ),
    ("I want to talk to a person", []),
]
CSAT_ORDER = "where is order 482913? I'm jane.doe@example.com"
CSAT_COMMENT = (
    "2 stars, the chat was ok but slow. I'm Jasper Kilbride, 77 Bramblewood Close",
    ["Jasper Kilbride", "77 Bramblewood Close"],
)


def _text(rows) -> str:
    return "\n".join(json.dumps([str(value) for value in row], ensure_ascii=False) for row in rows)


def _table_text(url: str, table: str, column: str, senders: set[str]) -> str:
    engine = get_engine(url)
    if not sa.inspect(engine).has_table(table):
        return ""
    reflected = sa.Table(table, sa.MetaData(), autoload_with=engine)
    query = sa.select(reflected).where(reflected.c[column].in_(sorted(senders)))
    with engine.connect() as connection:
        return _text(connection.execute(query))


def stored_texts(stack: Stack, senders: set[str]) -> dict[str, str]:
    """Everything each store and log holds about the conversations, as text."""
    database = stack.env["FRONTLINE_DATABASE_URL"]
    folder = stack.rasa.log_path.parent
    export = subprocess.run(
        [sys.executable, "-m", "frontline.audit", "export", "--url", database]
        + (
            ["--chain", stack.env["FRONTLINE_AUDIT_CHAIN"]]
            if "FRONTLINE_AUDIT_CHAIN" in stack.env
            else []
        ),
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert export.returncode == 0, export.stderr
    packets = [
        entry.packet for sender in senders for entry in stack.queue.find_by_conversation(sender)
    ]
    sandbox_db = f"sqlite:///{folder / 'sandbox.db'}"
    texts = {
        "tracker store": _table_text(
            stack.env["TRACKER_STORE_URL"], "events", "sender_id", senders
        ),
        "handoff packets": json.dumps(packets, ensure_ascii=False),
        "audit trail": _table_text(database, "audit_records", "conversation_id", senders),
        "audit export": export.stdout,
        "CSAT": _table_text(database, "csat_feedback", "conversation_id", senders),
        "outcome records": _table_text(database, "contact_outcomes", "conversation_id", senders),
        "contact history": _table_text(sandbox_db, "sandbox_contacts", "conversation_id", senders),
    }
    for log in sorted(folder.glob("*.log")):
        texts[f"log {log.name}"] = log.read_text(encoding="utf-8", errors="replace")
    return texts


def test_no_planted_personal_value_is_stored_or_logged_raw(stack: Stack) -> None:
    planted: list[str] = []
    senders: set[str] = set()
    for turns in CONVERSATIONS:
        chat = stack.conversation()
        for message, values in turns:
            chat.say(message)
            planted.extend(values)
        senders.add(chat.sender)
    handoff = stack.conversation()
    for message, values in HANDOFF:
        handoff.say(message)
        planted.extend(values)
    senders.add(handoff.sender)
    rated = stack.conversation()
    assert "How did I do?" in " ".join(rated.say(CSAT_ORDER))
    rated.say(CSAT_COMMENT[0])
    planted.extend(CSAT_COMMENT[1])
    senders.add(rated.sender)
    assert len(senders) == 10 and len(planted) >= 30

    # The stores did get the conversations: a handoff, a comment, audit records.
    wait_until(lambda: stack.queue.find_by_conversation(handoff.sender), timeout=30)
    database = stack.env["FRONTLINE_DATABASE_URL"]
    csat = wait_until(
        lambda: _table_text(database, "csat_feedback", "conversation_id", {rated.sender}),
        timeout=30,
    )
    assert "Jasper" in csat  # the comment was kept, masked
    wait_until(
        lambda: _table_text(database, "audit_records", "conversation_id", senders), timeout=30
    )
    texts = stored_texts(stack, senders)
    assert all(sender in texts["tracker store"] for sender in senders)

    found = {
        where: [value for value in planted if value in text]
        for where, text in texts.items()
        if any(value in text for value in planted)
    }
    assert found == {}


def test_the_tracker_store_holds_sealed_events_the_conversation_can_use(stack: Stack) -> None:
    chat = stack.conversation()
    chat.say("hi, my name is Kestrel Vanterpool")
    chat.say("where is order 482913?")
    texts = stored_texts(stack, {chat.sender})
    assert "fernet:" in texts["tracker store"] and "Kestrel" not in texts["tracker store"]
    # The live conversation still has what it needs: Rasa reads the events back.
    events = chat.tracker()["events"]
    assert any("Kestrel Vanterpool" in (event.get("text") or "") for event in events)
