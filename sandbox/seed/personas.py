"""The handcrafted demo customers (``personas.yml``), documented in ``sandbox/README.md``.

They are data, not code: a persona or an order is added by editing the YAML file.
They are seeded first, in the file's order, before the generated customers.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any

import yaml

from sandbox.seed.builder import Builder, Timeline, parse_time

PERSONAS_PATH = Path(__file__).resolve().parent / "personas.yml"


@functools.lru_cache(maxsize=1)
def personas() -> list[dict[str, Any]]:
    """The personas as the file holds them (read once per process)."""
    return yaml.safe_load(PERSONAS_PATH.read_text(encoding="utf-8"))


def add_personas(builder: Builder) -> None:
    """Adds every persona, with their orders, to ``builder``."""
    for persona in personas():
        customer = builder.add_customer(
            customer_id=persona["customer_id"],
            name=persona["name"],
            email=persona["email"],
            phone=persona["phone"],
            zip_code=persona["zip_code"],
            tier=persona["tier"],
            slack_id=persona["slack_id"],
            created_at=parse_time(persona["created_at"]),
            card=(persona["card"][0], persona["card"][1]),
            address=persona["address"],
        )
        for order in persona["orders"]:
            after = order.get("duplicate_charge_after_seconds")
            builder.add_order(
                customer,
                order_id=order["order_id"],
                state=order["state"],
                timeline=Timeline(
                    **{step: parse_time(at) for step, at in order["timeline"].items()}
                ),
                items=[(sku, quantity) for sku, quantity in order["items"]],
                carrier=order.get("carrier"),
                tracking_number=order.get("tracking_number"),
                duplicate_charge_after=dt.timedelta(seconds=after) if after else None,
            )
