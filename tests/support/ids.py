"""Customer ids that are awkward in URLs and keys, one per character class that used to
reach a phantom conversation (the channels' id tests and the e2e channel security tests)."""

from __future__ import annotations

AWKWARD_IDS = {
    "space": "jane doe",
    "plus": "jane+doe",
    "slash": "jane/doe",
    "question": "jane?doe",
    "hash": "jane#doe",
    "percent": "100%jane",
    "backslash": "jane\\doe",
    "non-ascii": "jöhn-ñ",
    "emoji": "jane-😀",
}
