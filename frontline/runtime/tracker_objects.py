"""Cheap copies of Rasa's plain objects (trackers, slots), shared by the tracker patches."""

from __future__ import annotations

from typing import Any


def shallow_copy(obj: Any) -> Any:
    """``copy.copy`` for plain objects (Rasa's slots and trackers), without its overhead."""
    clone = object.__new__(obj.__class__)
    clone.__dict__.update(obj.__dict__)
    return clone


def copy_slots(slots: dict[str, Any]) -> dict[str, Any]:
    """A copy of a tracker's slots: the same dict class, each slot object copied."""
    copied = slots.__class__()  # keeps Rasa's AnySlotDict
    copied.update({name: shallow_copy(slot) for name, slot in slots.items()})
    return copied
