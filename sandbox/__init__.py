"""Frontline sandbox: a stand-in for the company's CRM, order-management and billing systems.

The assistant's action server calls it over HTTP exactly as it would call the real
systems, and tests read its API to check outcomes. See ``sandbox/README.md``.
"""

from __future__ import annotations

from sandbox.app import create_app

__all__ = ["create_app"]
