"""The conversation mix of the load benchmark, for Frontline and for the starter bot.

Frontline's customers come from the sandbox's deterministic demo data, so every
conversation verifies a real customer and touches a real order. Each conversation
cancels a different cancellable order (a pool shared by all virtual customers), so
cancellations really write; when the pool runs dry the script checks a status instead.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass

from bench.load import ACTION, BACKEND, NO_ACTION, Script, Turn
from sandbox.seed import demo_rows


@dataclass(frozen=True)
class DemoCustomer:
    email: str
    zip_code: str
    order_ids: tuple[str, ...]


def demo_customers() -> tuple[list[DemoCustomer], deque[tuple[DemoCustomer, str]]]:
    """Every demo customer with orders, and the pool of cancellable orders."""
    rows, _ = demo_rows()
    orders: dict[str, list[tuple[str, str]]] = {}
    for order in rows["sandbox_orders"]:
        orders.setdefault(order["customer_id"], []).append((order["id"], order["state"]))
    customers, cancellable = [], deque()
    for row in rows["sandbox_customers"]:
        own = orders.get(row["id"], [])
        if not own:
            continue
        customer = DemoCustomer(row["email"], row["zip_code"], tuple(o for o, _ in own))
        customers.append(customer)
        cancellable.extend((customer, o) for o, state in own if state in ("placed", "paid"))
    return customers, cancellable


class FrontlineScripts:
    """Draws Frontline conversations: status, cancel, FAQ, fallback, handoff, small talk."""

    def __init__(self, seed: int = 11) -> None:
        self.customers, self.cancellable = demo_customers()
        random.Random(seed).shuffle(self.cancellable)

    def status(self, rng: random.Random) -> Script:
        customer = rng.choice(self.customers)
        order_id = rng.choice(customer.order_ids)
        return Script(
            "status",
            (
                Turn("hi", NO_ACTION),
                Turn("where is my order?", NO_ACTION),
                Turn(customer.email, NO_ACTION),
                Turn(order_id, BACKEND),
                Turn("thanks!", NO_ACTION),
            ),
        )

    def cancel(self, rng: random.Random) -> Script:
        if not self.cancellable:
            return self.status(rng)
        customer, order_id = self.cancellable.popleft()
        return Script(
            "cancel",
            (
                Turn("I want to cancel an order", NO_ACTION),
                Turn(customer.email, NO_ACTION),
                Turn(f"my zip is {customer.zip_code}", BACKEND),
                Turn(order_id, BACKEND),
                Turn("yes, cancel it", BACKEND),
            ),
        )

    def faq_and_fallback(self, rng: random.Random) -> Script:
        return Script(
            "misc",
            (
                Turn("hello there", NO_ACTION),
                Turn("what's the weather like in Lisbon?", NO_ACTION),
                Turn("flurb wizzle gronk", ACTION),
                Turn("are you a bot?", NO_ACTION),
                Turn("bye", NO_ACTION),
            ),
        )

    def handoff(self, rng: random.Random) -> Script:
        customer = rng.choice(self.customers)
        return Script(
            "handoff",
            (
                Turn(f"where is order {rng.choice(customer.order_ids)}?", NO_ACTION),
                Turn(customer.email, BACKEND),
                Turn("I want to talk to a person", BACKEND),
            ),
        )

    def __call__(self, rng: random.Random) -> Script:
        kind = rng.choices(
            [self.status, self.cancel, self.faq_and_fallback, self.handoff], [4, 3, 2, 1]
        )[0]
        return kind(rng)


def starter_script(rng: random.Random) -> Script:
    """A conversation with Rasa's ``rasa init`` bot (every turn answered by responses)."""
    mood = rng.choice(
        [
            ("I'm feeling great", "bye"),
            ("I am sad", "yes"),
            ("not good", "no"),
        ]
    )
    return Script(
        "starter",
        (
            Turn("hello", NO_ACTION),
            Turn(mood[0], NO_ACTION),
            Turn(mood[1], NO_ACTION),
            Turn("are you a bot?", NO_ACTION),
            Turn("goodbye", NO_ACTION),
        ),
    )
