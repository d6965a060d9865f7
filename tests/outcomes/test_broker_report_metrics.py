"""The event brokers as the Rasa server builds them, the HTML report, and the
Prometheus families."""

from __future__ import annotations

import re
import subprocess
import sys
import threading

import pytest
from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

from frontline.audit import AuditStore
from frontline.errors import ConfigurationError
from frontline.event_brokers import FanOutEventBroker
from frontline.metrics.prometheus import (
    actions_families,
    desk_families,
    families_text,
    rasa_families,
    registry_for,
)
from frontline.metrics.report.html import SECTIONS, render
from frontline.metrics.summary import compute_metrics
from frontline.outcomes.broker import OutcomeEventBroker, OutcomeWriter
from frontline.outcomes.sql_store import SqlOutcomeStore
from frontline.settings import PROJECT_ROOT
from tests.outcomes import dataset
from tests.outcomes.support import make_writer, recorded

# -- the brokers -------------------------------------------------------------------------


async def test_the_fan_out_broker_feeds_the_audit_trail_and_the_outcomes(
    outcome_url, unique_name, monkeypatch
):
    monkeypatch.setenv("FRONTLINE_PSEUDONYM_KEY", "a-key-for-this-test-only")
    from frontline.settings import get_settings

    get_settings.cache_clear()
    try:
        config = EndpointConfig(
            type="frontline.event_brokers.FanOutEventBroker",
            brokers=[
                {"type": "frontline.audit.broker.AuditEventBroker", "url": outcome_url,
                 "chain": unique_name},  # fmt: skip
                {"type": "frontline.outcomes.broker.OutcomeEventBroker", "url": outcome_url,
                 "tier_source": "none"},  # fmt: skip
            ],
        )
        broker = await EventBroker.create(config)  # the way the Rasa server builds it
        assert isinstance(broker, FanOutEventBroker) and broker.is_ready()
        conversation = recorded("order_status_rated")
        for event in conversation.events:
            broker.publish(event)
        await broker.close()
    finally:
        get_settings.cache_clear()
    [record] = SqlOutcomeStore(outcome_url).for_conversation(conversation.conversation_id)
    assert record.outcome == "resolved_by_assistant" and record.tier == "unknown"
    decisions = AuditStore(outcome_url, unique_name).records(conversation.conversation_id)
    assert "action_order_status" in [d.payload["action"] for d in decisions]


async def test_a_broker_that_cannot_be_built_stops_the_server():
    config = EndpointConfig(
        type="frontline.event_brokers.FanOutEventBroker",
        brokers=[{"type": "frontline.nowhere.Broker"}],
    )
    with pytest.raises(ConfigurationError, match="could not be built"):
        await EventBroker.create(config)
    with pytest.raises(ConfigurationError, match="list of 'brokers'"):
        await EventBroker.create(EndpointConfig(type="frontline.event_brokers.FanOutEventBroker"))


class GatedStore(SqlOutcomeStore):
    """A store whose reads wait until the test opens the gate."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.gate = threading.Event()
        self.reading = threading.Event()

    def latest_states(self, conversation_ids):
        self.reading.set()
        assert self.gate.wait(timeout=30), "the test never opened the gate"
        return super().latest_states(conversation_ids)


def test_publish_never_waits_for_the_database(sqlite_url):
    writer = make_writer(sqlite_url)
    store = GatedStore(sqlite_url)
    writer.processor.store = store
    broker = OutcomeEventBroker(OutcomeWriter(writer.processor, batch_window=0.01))
    conversation = recorded("order_status_rated")
    for event in conversation.events * 20:
        broker.publish(event)  # all accepted while the writer is stuck in the database
    assert store.reading.wait(timeout=10)
    assert store.search() == []
    store.gate.set()
    broker.writer.stop()
    assert store.search()[0].outcome == "resolved_by_assistant"


# -- the report ---------------------------------------------------------------------------


@pytest.fixture
def filled_store(outcome_url) -> SqlOutcomeStore:
    store = SqlOutcomeStore(outcome_url)
    dataset.load(store)
    return store


def test_the_report_has_every_section_and_links_nowhere(filled_store):
    result = compute_metrics(filled_store, dataset.SINCE, dataset.UNTIL, now=dataset.UNTIL)
    html = render(result, dataset.UNTIL)
    for section in SECTIONS:
        assert f'id="{section}"' in html
    # Self-contained: no URL to fetch, every image inline.
    assert not re.search(r"(?i)\b(?:https?|ftp)://|//[a-z0-9.-]+\.[a-z]{2,}/", html)
    assert not re.search(r"(?i)<(?:script|link|iframe)\b", html)
    sources = re.findall(r'(?i)\bsrc="([^"]*)"', html)
    assert len(sources) == 4 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "70.0%" in html and "keep_human" not in html.split('id="impact-matrix"')[1][:200]
    assert "breached" in html  # the default SLOs on this set: see test_slo_and_store


def test_make_report_writes_the_file_for_a_date_range(filled_store, tmp_path):
    out = tmp_path / "report.html"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "frontline.metrics.report",
            "--since",
            "2027-01-15",
            "--until",
            "2027-01-22T08:00:00Z",
            "--out",
            str(out),
            "--database-url",
            filled_store.database_url,
        ],  # fmt: skip
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "(13 contacts" in result.stdout  # from midnight: with the one at 06:00
    html = out.read_text()
    assert "2027-01-15 00:00 UTC" in html and 'id="segments"' in html


# -- Prometheus ---------------------------------------------------------------------------


def test_each_server_exports_its_own_families_from_the_database(filled_store):
    rasa = families_text(rasa_families(filled_store))
    assert (
        'frontline_contacts{channel="rest",outcome="resolved_by_assistant",tier="gold"} 1.0' in rasa
    )
    assert 'frontline_escalations_total{channel="rest",reason="customer_request"} 2.0' in rasa
    assert 'frontline_csat_responses_total{channel="slack",score="2"} 1.0' in rasa
    actions = families_text(actions_families(filled_store))
    assert 'frontline_backend_failures_total{interaction_type="check_order_status"} 2.0' in actions
    assert 'frontline_actions_started_total{interaction_type="cancel_order"} 2.0' in actions
    desk = families_text(desk_families(filled_store, None))
    assert 'frontline_human_handle_seconds_total{channel="rest"} 600.0' in desk
    assert 'frontline_could_have_handled_total{verdict="yes"} 1.0' in desk
    # The registry answers even when the database does not.
    broken = registry_for("rasa", SqlOutcomeStore("postgresql://nobody@127.0.0.1:1/none"))
    from prometheus_client import generate_latest

    assert b"frontline_metrics_database_up 0.0" in generate_latest(broken)
