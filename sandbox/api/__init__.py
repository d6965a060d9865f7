"""HTTP routes of the sandbox, one blueprint per backend system."""

from __future__ import annotations

from sanic import Blueprint

from sandbox.api import admin, billing, care, crm, orders


def blueprints() -> list[Blueprint]:
    """Fresh blueprints for one app (a blueprint instance belongs to one app)."""
    return [
        crm.blueprint(),
        orders.blueprint(),
        billing.blueprint(),
        care.blueprint(),
        admin.blueprint(),
    ]
