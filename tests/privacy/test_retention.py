"""``retain``: every store keeps personal data as long as the data-handling policy says."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

from frontline.audit.chain import TOMBSTONE_KEY
from frontline.policy import policies
from frontline.privacy.retention import apply_retention
from tests.privacy.conftest import Filled, fill


def test_retention_removes_what_is_older_than_each_store_keeps(stores: Filled) -> None:
    policy = policies().data_handling
    days = policy.retention_days
    assert set(days) == {"tracker", "handoff_queue", "csat", "outcomes", "audit", "logs"}
    now = datetime.now(timezone.utc)
    long_ago = now - timedelta(days=max(days.values()) + 10)
    fill(stores, "ancient", "C1003", long_ago, "an old message from 1 Old Road")
    ancient = stores.conversations["ancient"]
    old_log = stores.log_file.with_name("old.log")
    old_log.write_text("INFO something old\n")
    os.utime(old_log, (long_ago.timestamp(), long_ago.timestamp()))
    fresh = set(stores.conversations.values()) - {ancient}

    # Judged a little after the audit trail's retention ran out for what exists now.
    later = now + timedelta(days=days["audit"], seconds=1)
    report = apply_retention(stores.where, policy, now=later)

    assert report.problems == []
    # Quiet conversations went from the tracker, old answers and outcomes too.
    assert stores.tracker_senders() == set()
    assert stores.csat_conversations() == set()
    assert stores.outcome_conversations() == set()
    assert report.stores["handoff_queue"] == 4
    assert not old_log.exists() and report.stores["logs"] >= 1
    records = [r for r in stores.chain.records() if r.kind != "erasure"]
    assert records and all(list(r.payload) == [TOMBSTONE_KEY] for r in records)
    assert stores.chain.verify().ok
    assert fresh  # the fixture's conversations, now all past every period


def test_retention_keeps_what_is_recent(stores: Filled) -> None:
    report = apply_retention(stores.where, policies().data_handling)

    assert report.stores == {
        "tracker": 0,
        "handoff_queue": 0,
        "csat": 0,
        "outcomes": 0,
        "audit": 0,
        "logs": 0,
    }
    assert stores.tracker_senders() == set(stores.conversations.values())
    assert stores.chain.verify().ok
