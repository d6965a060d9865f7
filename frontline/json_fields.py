"""Reading nested JSON objects (tracker events, packets) whose shape is not guaranteed.

Events and packets come from stores and other processes: a field that should hold an
object may be missing or hold something else. These helpers say "an object, or empty"
once, so readers neither crash on odd data nor repeat the check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_EMPTY: Mapping[str, Any] = {}


def object_at(parent: Mapping[str, Any] | None, key: str) -> Mapping[str, Any]:
    """``parent[key]`` when it is a JSON object, else an empty mapping."""
    value = parent.get(key) if isinstance(parent, Mapping) else None
    return value if isinstance(value, Mapping) else _EMPTY
