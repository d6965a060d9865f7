"""Changing flags at run time: the kill switch and overrides, each change audited.

:class:`FlagAdmin` is the one service the CLI (``python -m frontline.flags``) and the agent
desk call. Every change is first appended to the audit trail (kind ``flag_change``: who,
from where, when, why, the state before and after), then made in the database in one
transaction that bumps the change counter, then announced (Redis, when set). If the audit
trail cannot be written, nothing changes; if the change then fails, a ``flag_change_failed``
record follows. Undo is another change, audited the same way.

For the desk (a supervisor's button)::

    admin = FlagAdmin.from_settings()
    admin.set_kill_switch("messages", Operator(agent.name, "desk"), reason="orders API down")
    admin.set_kill_switch("off", Operator(agent.name, "desk"), reason="orders API back")
    admin.status()  # -> KillSwitch(mode, response, reason, actor, since)

:class:`FlagChangeRefused` means the request was wrong (unknown mode or flag, no reason):
show its message. :class:`~frontline.flags.store.FlagStoreError` and
:class:`~frontline.errors.AuditError` mean a dependency is down: nothing changed.
"""

from __future__ import annotations

import getpass
import logging
import os
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from frontline.audit.store import AuditStore, NewRecord, audit_store
from frontline.errors import AuditError, FrontlineError
from frontline.flags.definitions import KILL_SWITCH_MODES, KILL_SWITCH_OFF, FlagsPolicy, Segment
from frontline.flags.definitions import flags_policy as default_flags_policy
from frontline.flags.evaluation import KillSwitch, Override, Snapshot
from frontline.flags.signal import ChangeSignal, create_signal
from frontline.flags.store import (
    MAX_ACTOR_LENGTH,
    MAX_REASON_LENGTH,
    FlagStoreError,
    SqlFlagStore,
    now_iso,
)
from frontline.settings import Settings, get_settings

logger = logging.getLogger(__name__)

AUDIT_KIND = "flag_change"
AUDIT_FAILED_KIND = "flag_change_failed"
OPERATOR_ENV = "FRONTLINE_OPERATOR"


class FlagChangeRefused(FrontlineError):
    """The change asked for is not valid (nothing was changed)."""


@dataclass(frozen=True)
class Operator:
    """Who makes a change, and through what (``cli``, ``desk``, ...)."""

    name: str
    source: str

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> Operator:
        """``FRONTLINE_OPERATOR``, else the signed-in system user; source ``cli``."""
        env = os.environ if env is None else env
        name = (env.get(OPERATOR_ENV) or "").strip()
        if not name:
            try:
                name = getpass.getuser()
            except (KeyError, OSError) as exc:
                raise FlagChangeRefused(f"set {OPERATOR_ENV} to say who you are") from exc
        return cls(name, "cli")


class FlagAdmin:
    """Reads and changes overrides and the kill switch.

    Args:
        store: The flag store.
        signal: Announces each change to every process.
        policy: The flag definitions (what may be overridden, the allowed responses).
        audit: The audit chain every change is recorded on.
    """

    def __init__(
        self, store: SqlFlagStore, signal: ChangeSignal, policy: FlagsPolicy, audit: AuditStore
    ) -> None:
        self.store = store
        self.signal = signal
        self.policy = policy
        self.audit = audit

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> FlagAdmin:
        """The admin of this deployment's flags (``FRONTLINE_DATABASE_URL``, ``REDIS_URL``)."""
        settings = settings or get_settings()
        policy = default_flags_policy(settings.policies_dir)
        store = SqlFlagStore(settings.database_url)
        signal = create_signal(settings, store, policy.redis_ttl_seconds)
        audit = (
            audit_store()
            if settings is get_settings()
            else AuditStore(settings.database_url, settings.audit_chain)
        )
        return cls(store, signal, policy, audit)

    # -- reading ---------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        return self.store.read_snapshot()

    def status(self) -> KillSwitch:
        """The kill switch now."""
        return self.snapshot().kill_switch

    def overrides(self, flag_key: str | None = None) -> list[Override]:
        """The overrides in force (of one flag), newest first."""
        found = [o for group in self.snapshot().overrides.values() for o in group]
        found = [o for o in found if flag_key is None or o.flag_key == flag_key]
        return sorted(found, key=lambda o: o.created_at, reverse=True)

    # -- changing --------------------------------------------------------------------

    def set_kill_switch(
        self, mode: str, operator: Operator, reason: str, response: str | None = None
    ) -> KillSwitch:
        """Turns the kill switch to ``mode`` (``writes``, ``messages``, or ``off`` to undo).

        Args:
            mode: The new mode.
            operator: Who turns it.
            reason: Why (recorded, and shown to the agents who receive the handoffs).
            response: The customer-facing response, one of ``kill_switch.responses`` in
                ``policies/flags.yml`` (default: the mode's).

        Raises:
            FlagChangeRefused: unknown mode or response, no reason or operator.
            FlagStoreError, AuditError: a dependency is down; nothing changed.
        """
        if mode not in KILL_SWITCH_MODES:
            raise FlagChangeRefused(f"mode must be one of {', '.join(KILL_SWITCH_MODES)}")
        reason, actor = _checked(reason, operator)
        if mode == KILL_SWITCH_OFF:
            if response:
                raise FlagChangeRefused("turning the kill switch off takes no response")
        else:
            response = response or self.policy.kill_switch_default_response(mode)
            if response not in self.policy.kill_switch_responses:
                raise FlagChangeRefused(
                    f"response must be one of {', '.join(self.policy.kill_switch_responses)}"
                )
        before = self.status()
        after = KillSwitch(
            mode=mode,
            response=response if mode != KILL_SWITCH_OFF else None,
            reason=reason,
            actor=actor,
            since=now_iso(),
        )
        self._audited(
            "kill_switch",
            operator,
            reason,
            {"before": before.as_dict(), "after": after.as_dict()},
            lambda: self.store.set_kill_switch(after),
        )
        logger.warning("Kill switch %s -> %s by %s: %s", before.mode, mode, actor, reason)
        return after

    def add_override(
        self,
        flag_key: str,
        value: bool,
        operator: Operator,
        reason: str,
        *,
        channels: Iterable[str] = (),
        tiers: Iterable[str] = (),
        percentage: float | None = None,
    ) -> Override:
        """Turns ``flag_key`` on or off for a segment (everyone when none is given).

        Raises:
            FlagChangeRefused: unknown flag, a percentage outside 0-100, no reason.
            FlagStoreError, AuditError: a dependency is down; nothing changed.
        """
        if self.policy.flag(flag_key) is None:
            raise FlagChangeRefused(
                f"no flag {flag_key!r}; flags: {', '.join(sorted(self.policy.flags))}"
            )
        if percentage is not None and not 0 <= percentage <= 100:
            raise FlagChangeRefused("percentage must be between 0 and 100")
        reason, actor = _checked(reason, operator)
        override = Override(
            override_id=f"ovr_{uuid.uuid4().hex[:12]}",
            flag_key=flag_key,
            value=bool(value),
            segment=Segment(
                channels=frozenset(c.strip() for c in channels if c.strip()),
                tiers=frozenset(t.strip() for t in tiers if t.strip()),
                percentage=percentage,
            ),
            reason=reason,
            actor=actor,
            created_at=now_iso(),
        )
        self._audited(
            "override_added",
            operator,
            reason,
            {"override": override.as_dict()},
            lambda: self.store.add_override(override),
        )
        return override

    def remove_override(self, override_id: str, operator: Operator, reason: str) -> Override:
        """Removes an override (the flag's file rules apply again for its segment).

        Raises:
            FlagChangeRefused: no such override, no reason.
            FlagStoreError, AuditError: a dependency is down; nothing changed.
        """
        reason, _ = _checked(reason, operator)
        existing = next((o for o in self.overrides() if o.override_id == override_id), None)
        if existing is None:
            raise FlagChangeRefused(f"no override {override_id!r}")

        def remove() -> int:
            _, version = self.store.remove_override(override_id)
            return version

        self._audited(
            "override_removed", operator, reason, {"override": existing.as_dict()}, remove
        )
        return existing

    def _audited(
        self,
        action: str,
        operator: Operator,
        reason: str,
        details: Mapping[str, Any],
        change: Callable[[], int],
    ) -> int:
        """Audits, then changes, then announces; returns the new change counter."""
        change_id = uuid.uuid4().hex
        payload = {
            "change_id": change_id,
            "action": action,
            "actor": operator.name,
            "source": operator.source,
            "reason": reason,
            "flags_version": self.policy.version,
            **details,
        }
        self.audit.append([NewRecord(AUDIT_KIND, payload)])  # AuditError: nothing changed
        try:
            version = change()
        except FlagStoreError as exc:
            try:
                self.audit.append(
                    [NewRecord(AUDIT_FAILED_KIND, {"change_id": change_id, "error": str(exc)})]
                )
            except (AuditError, ValueError) as audit_exc:
                logger.error("Could not audit the failure of change %s: %s", change_id, audit_exc)
            raise
        self.signal.announce(version)
        return version


def _checked(reason: str, operator: Operator) -> tuple[str, str]:
    reason = (reason or "").strip()
    if not reason:
        raise FlagChangeRefused("say why (--reason): it is recorded and shown to agents")
    if len(reason) > MAX_REASON_LENGTH:
        raise FlagChangeRefused(f"the reason has at most {MAX_REASON_LENGTH} characters")
    actor = (operator.name or "").strip()
    if not actor or len(actor) > MAX_ACTOR_LENGTH:
        raise FlagChangeRefused(f"the operator's name has 1 to {MAX_ACTOR_LENGTH} characters")
    return reason, actor
