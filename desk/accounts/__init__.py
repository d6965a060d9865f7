"""Agents, their passwords and their desk sessions, in Frontline's SQL database.

* :mod:`desk.accounts.model`: the agent account, the checks of its fields, the errors.
* :mod:`desk.accounts.passwords`: scrypt hashing and what a new password must be.
* :mod:`desk.accounts.sessions`: session tokens (only their SHA-256 is stored).
* :mod:`desk.accounts.tables`: the ``desk_agents`` and ``desk_sessions`` tables.
* :mod:`desk.accounts.store`: :class:`AgentStore`, accounts and sessions together.
* :mod:`desk.accounts.throttle`: :class:`SignInThrottle` (backoff) and :class:`DeviceTokens`.
* :mod:`desk.accounts.checks`: :class:`PasswordChecks`, password checks off the event loop.
"""

from __future__ import annotations

from desk.accounts.model import AccountError, AccountStoreUnavailable, Agent
from desk.accounts.passwords import hash_password, verify_password
from desk.accounts.sessions import token_digest
from desk.accounts.store import AgentStore
from desk.accounts.throttle import DeviceTokens, SignInThrottle

__all__ = [
    "AccountError",
    "AccountStoreUnavailable",
    "Agent",
    "AgentStore",
    "DeviceTokens",
    "SignInThrottle",
    "hash_password",
    "token_digest",
    "verify_password",
]
