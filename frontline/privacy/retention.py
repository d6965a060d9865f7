"""Retention: each store keeps personal data only as long as the data-handling policy says.

``python -m frontline.privacy retain`` runs it; deploy it as a daily job
(``deploy/systemd/frontline-retention.timer``, docs/runbook.md "Retention").
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from frontline.audit.erasure import erase_records
from frontline.audit.store import StoredRecord
from frontline.errors import QueueError
from frontline.policy.data_handling import DataHandlingPolicy
from frontline.privacy import stores
from frontline.privacy.erasure import Report, Stores

logger = logging.getLogger(__name__)


def apply_retention(
    where: Stores, policy: DataHandlingPolicy, now: datetime | None = None
) -> Report:
    """Deletes (or, in the audit trail, tombstones) what is older than its store keeps."""
    now = now or datetime.now(timezone.utc)
    days = policy.retention_days
    report = Report("retention")

    def cutoff(store: str) -> datetime | None:
        return now - timedelta(days=days[store]) if store in days else None

    if (before := cutoff("tracker")) is not None:
        report.stores["tracker"] = stores.retain_tracker(where.tracker_url, before)
    if (before := cutoff("handoff_queue")) is not None:
        try:
            report.stores["handoff_queue"] = where.queue.purge_resolved(before)
        except QueueError as exc:
            report.problems.append(f"handoff queue: {exc}")
    if (before := cutoff("csat")) is not None:
        report.stores["csat"] = stores.retain_csat(where.database_url, before)
    if (before := cutoff("outcomes")) is not None:
        report.stores["outcomes"] = stores.retain_outcomes(where.database_url, before)
    if (before := cutoff("audit")) is not None:
        stamp = before.isoformat(timespec="microseconds").replace("+00:00", "Z")

        def old(record: StoredRecord) -> bool:
            return record.recorded_at < stamp

        report.stores["audit"] = sum(
            len(erase_records(chain, old, reason="retention")) for chain in where.audit_chains
        )
    if (before := cutoff("logs")) is not None:
        report.stores["logs"] = stores.retain_logs(where.log_dir, before)
    logger.info("Retention applied: %s", report.stores)
    return report
