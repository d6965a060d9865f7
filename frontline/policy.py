"""Loads the policy-as-code modules in ``policies/`` and answers questions about them.

Each module is a YAML file with a ``policy`` name, a semantic ``version`` and an
``owner``, validated against ``policies/schemas/<name>.schema.json``. An invalid
module raises ``ConfigurationError``: the assistant refuses to start with it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from frontline.errors import ConfigurationError
from frontline.settings import get_settings

logger = logging.getLogger(__name__)

PRIORITIES = ("low", "normal", "high", "urgent")


@dataclass(frozen=True)
class PolicyModule:
    """One validated policy file."""

    name: str
    version: str
    owner: str
    rules: dict[str, Any]
    path: Path


def load_policy(name: str, policies_dir: Path | None = None) -> PolicyModule:
    """Reads and validates ``<policies_dir>/<name>.yml``.

    Raises:
        ConfigurationError: the file is missing, is not YAML or breaks its schema.
    """
    directory = policies_dir or get_settings().policies_dir
    path = directory / f"{name}.yml"
    schema_path = directory / "schemas" / f"{name}.schema.json"
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        schema = json.loads(schema_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, json.JSONDecodeError) as exc:
        raise ConfigurationError(f"cannot read policy '{name}': {exc}") from exc
    try:
        jsonschema.validate(document, schema)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "<root>"
        raise ConfigurationError(f"policy '{name}' is invalid at {where}: {exc.message}") from exc
    logger.info("Loaded policy %s %s (owner %s)", name, document["version"], document["owner"])
    return PolicyModule(
        name=name,
        version=document["version"],
        owner=document["owner"],
        rules=document["rules"],
        path=path,
    )


@dataclass(frozen=True)
class EscalationPolicy:
    """Typed view of the escalation policy module."""

    module: PolicyModule

    @property
    def version(self) -> str:
        return self.module.version

    @property
    def max_verification_attempts(self) -> int:
        return int(self.module.rules["verification"]["max_attempts"])

    @property
    def fallback_offer_human_after(self) -> int:
        return int(self.module.rules["fallback"]["offer_human_after"])

    @property
    def fallback_handoff_after(self) -> int:
        return int(self.module.rules["fallback"]["handoff_after"])

    def priority(self, reason_code: str, tier: str | None) -> str:
        """Priority of a handoff for ``reason_code``, raised one step for boosted tiers."""
        rules = self.module.rules["priority"]
        base = rules["by_reason"].get(reason_code, "normal")
        index = PRIORITIES.index(base)
        if tier and tier in rules["tier_boost"]:
            index = min(index + 1, len(PRIORITIES) - 1)
        return PRIORITIES[index]

    def expected_wait(self, priority: str) -> str:
        """What the customer is told about waiting for a human at ``priority``."""
        return str(self.module.rules["expected_wait"][priority])


@cache
def escalation_policy(policies_dir: Path | None = None) -> EscalationPolicy:
    """The escalation policy, loaded once per process."""
    return EscalationPolicy(load_policy("escalation", policies_dir))
