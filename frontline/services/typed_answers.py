"""Values typed as the answer to the question a form asked (docs/decisions/typed-answers.md).

NLU may not understand a bare value ("59.90", "the shipped one"): it is no intent. When
a form has asked for that value, the text itself is the answer. These functions say
whether it is one, and which value; the form validators fill the slot with it and the
fallback lets the form take the message instead of asking to rephrase.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from frontline.patterns import amount_in_answer, contains_card_number
from frontline.vocabulary import Slot

#: Words that say nothing about which order is meant ("the one with the earbuds").
_FILLER_WORDS = frozenset(
    """
    the a an one ones my that this it its it's order orders with of for pls please plz i
    mean meant want wanted the one which is was me thanks thx ty ok okay yes yeah yep sure
    just and item items thing stuff
    """.split()
)
_WORD_RE = re.compile(r"[a-z0-9]+")


def _words(text: str) -> list[str]:
    return _WORD_RE.findall(text.lower().replace("\u2019", "'"))


def _stem(word: str) -> str:
    """``"earbuds"`` and ``"earbud"`` alike; ``"cancelled"`` and ``"canceled"`` alike."""
    word = word.replace("canceled", "cancelled")
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def _order_words(order: dict[str, Any]) -> set[str]:
    """The words the order's button shows or implies: its state and its items' names."""
    words = {_stem(w) for w in _words(str(order.get("state") or ""))}
    for item in order.get("items") or []:
        words |= {_stem(w) for w in _words(str(item.get("name") or "")) if not w.isdigit()}
    return words


def match_offered_order(text: object, orders: Sequence[dict[str, Any]]) -> str | None:
    """The one offered order the customer's words describe, or None.

    "the shipped one" names an order by its state, "the earbuds" by an item. Every
    meaningful word must belong to the order (its state or an item's name) and exactly
    one offered order may fit; otherwise None (the customer is asked again). A message
    holding a card number never names an order.

    Args:
        text: The customer's message.
        orders: The orders offered as buttons (``id``, ``state``, ``items[].name``).
    """
    if text is None or contains_card_number(text):
        return None
    wanted = {_stem(w) for w in _words(str(text)) if w not in _FILLER_WORDS}
    if not wanted:
        return None
    fitting = [str(o["id"]) for o in orders if wanted <= _order_words(o)]
    return fitting[0] if len(fitting) == 1 else None


def offered(orders: Iterable[dict[str, Any]], listed_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The orders among ``orders`` that were offered as buttons (``listed_orders``)."""
    wanted = {str(order_id) for order_id in listed_ids}
    return [o for o in orders if str(o.get("id")) in wanted]


def typed_answer(
    requested_slot: str | None,
    text: object,
    offered_orders: Sequence[dict[str, Any]] = (),
) -> str | None:
    """The value ``text`` gives the slot the form asked for, or None.

    Args:
        requested_slot: The form's ``requested_slot``.
        text: The customer's message.
        offered_orders: For ``order_id``: the orders offered as buttons.
    """
    if requested_slot == Slot.CHARGE_AMOUNT:
        return amount_in_answer(text)
    if requested_slot == Slot.ORDER_ID:
        return match_offered_order(text, offered_orders)
    return None
