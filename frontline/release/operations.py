"""Promote, roll back, start a canary, guard it: each step changes the registry and the
shared canary state and is audited (kind ``release``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from frontline.audit.store import AuditStore
from frontline.db import get_engine
from frontline.errors import ConfigurationError
from frontline.outcomes.policy import Objective
from frontline.outcomes.tables import contact_outcomes
from frontline.release.arms import Breach, compare_arms, guard_breaches
from frontline.release.canary import PROMOTED, ROLLED_BACK, Canary, CanaryStore
from frontline.release.candidate import audit_release
from frontline.release.policy import ReleasePolicy
from frontline.release.registry import Registry

logger = logging.getLogger(__name__)

REPORT_COLUMNS = (
    "model_id", "outcome", "channel", "tier", "customer_key", "started_at", "escalated_at",
    "escalation_rule", "csat_score",
)  # fmt: skip


@dataclass
class Release:
    """Everything a release step touches."""

    registry: Registry
    canary: CanaryStore
    policy: ReleasePolicy
    audit: AuditStore | None
    actor: str = "operator"

    def _active(self) -> Canary | None:
        current = self.canary.current()
        return current if current is not None and current.active else None

    def start_canary(self, percentage: float | None = None) -> str:
        """Puts the approved candidate in front of a sticky share of customers.

        Raises:
            ConfigurationError: no candidate has passed the gate.
        """
        candidate = self.registry.approved()
        if candidate is None:
            raise ConfigurationError("no approved candidate: run `make candidate` first")
        production = self.registry.production()
        share = self.policy.canary_percentage if percentage is None else percentage
        self.canary.start(
            candidate.model_id,
            production.model_id,
            share,
            self.policy.canary_bucket,
            actor=self.actor,
            reason="gate passed",
        )
        audit_release(
            self.audit,
            "canary_started",
            {
                "candidate_model": candidate.model_id,
                "production_model": production.model_id,
                "percentage": share,
                "actor": self.actor,
                "policy_version": self.policy.version,
            },
        )
        return f"canary {candidate.model_id} serves {share:g}% of customers"

    def promote(self, numbers: Mapping[str, Any] | None = None) -> str:
        """The approved candidate becomes production (ending its canary, if any).

        Raises:
            ConfigurationError: no candidate has passed the gate.
        """
        candidate = self.registry.approved()
        if candidate is None:
            raise ConfigurationError("no approved candidate: run `make candidate` first")
        if self._active() is not None:
            self.canary.finish(PROMOTED, actor=self.actor, reason="promoted")
        replaced = self.registry.promote(candidate)
        audit_release(
            self.audit,
            "promoted",
            {
                "candidate_model": candidate.model_id,
                "production_model": replaced.model_id,
                "actor": self.actor,
                "policy_version": self.policy.version,
                "figures": candidate.figures,
                "arms": dict(numbers or {}),
            },
        )
        return f"promoted {candidate.model_id} (replaces {replaced.model_id})"

    def rollback(self, why: str, breaches: Sequence[Breach] = ()) -> str:
        """Ends the canary and withdraws its candidate; without one, restores the model
        production replaced last.

        Raises:
            ConfigurationError: nothing to roll back.
        """
        if self._active() is not None:
            self.canary.finish(ROLLED_BACK, actor=self.actor, reason=why)
        withdrawn = self.registry.reject_approved()
        if withdrawn is not None:
            production = self.registry.production()
            message = f"withdrew candidate {withdrawn.model_id}; production stays "
            message += production.model_id
        else:
            production, withdrawn = self.registry.restore_previous()
            message = f"rolled back to {production.model_id} (withdrew {withdrawn.model_id})"
        audit_release(
            self.audit,
            "rolled_back",
            {
                "candidate_model": withdrawn.model_id,
                "production_model": production.model_id,
                "actor": self.actor,
                "reason": why,
                "breaches": [str(b) for b in breaches],
                "policy_version": self.policy.version,
            },
        )
        return message

    def arms_report(self, records: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
        """The arms compared over the canary's outcome records (read from the database
        unless given). Raises LookupError without any canary."""
        canary = self.canary.current()
        if canary is None:
            raise LookupError("no canary has run in this deployment")
        rows = outcome_rows(self.canary.url, canary) if records is None else records
        return compare_arms(
            rows,
            canary,
            repeat_contact_days=self.policy.repeat_contact_days,
            confidence=self.policy.confidence,
        )

    def guard(
        self, objectives: Sequence[Objective], records: Sequence[Mapping[str, Any]] | None = None
    ) -> list[Breach]:
        """Rolls the active canary back on its own when its arm breaches a guardrail in
        any segment; returns the breaches (empty: nothing done)."""
        if self._active() is None:
            return []
        breaches = guard_breaches(
            self.arms_report(records),
            objectives,
            min_sample=self.policy.min_sample,
            max_refusal_rise=self.policy.max_refusal_rise,
        )
        if breaches:
            logger.warning("Canary guardrail breached: %s", "; ".join(map(str, breaches)))
            self.rollback("guardrail breached", breaches)
        return breaches


def outcome_rows(url: str, canary: Canary) -> list[dict[str, Any]]:
    """The outcome records of both arms since the canary started."""
    table = contact_outcomes
    query = sa.select(*(table.c[name] for name in REPORT_COLUMNS)).where(
        table.c.model_id.in_([canary.production_model, canary.candidate_model]),
        table.c.started_at >= canary.started_at,
    )
    with get_engine(url).connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]
