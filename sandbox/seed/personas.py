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

from sandbox.seed.builder import Builder, OrderExtras, Timeline, parse_time

PERSONAS_PATH = Path(__file__).resolve().parent / "personas.yml"


@functools.lru_cache(maxsize=1)
def personas() -> list[dict[str, Any]]:
    """The personas as the file holds them (read once per process)."""
    return yaml.safe_load(PERSONAS_PATH.read_text(encoding="utf-8"))


def add_personas(builder: Builder) -> None:
    """Adds every persona, with their orders, to ``builder``."""
    for persona in personas():
        details = {key: value for key, value in persona.items() if key != "orders"}
        details["created_at"] = parse_time(details["created_at"])
        details["card"] = (details["card"][0], details["card"][1])
        customer = builder.add_customer(**details)
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
                extras=_extras(order),
            )


def _extras(order: dict[str, Any]) -> OrderExtras:
    """A persona order's promised delivery, refund state and payment attempts, if given."""
    promised = order.get("promised_delivery")
    return OrderExtras(
        promised_delivery=parse_time(promised) if promised else None,
        refund_state=order.get("refund_state"),
        payment_attempts=tuple(
            (attempt["state"], attempt.get("decline_code"), parse_time(attempt["at"]))
            for attempt in order.get("payment_attempts") or ()
        ),
    )
