"""The domain as written: ``domain/*.yml`` merged the way Rasa merges a domain directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOMAIN_DIR = ROOT / "domain"


def raw_domain() -> dict[str, Any]:
    """Every section of every domain file, lists joined and mappings merged, unnormalised."""
    merged: dict[str, Any] = {}
    for path in sorted(DOMAIN_DIR.glob("*.yml")):
        for key, value in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items():
            if isinstance(value, list):
                merged.setdefault(key, []).extend(value)
            elif isinstance(value, dict):
                merged.setdefault(key, {}).update(value)
            else:
                merged[key] = value
    return merged
