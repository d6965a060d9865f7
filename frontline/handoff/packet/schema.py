"""The packet's JSON Schema, one per version, and validation against it.

A packet is validated against the schema of its own ``schema_version``, so 1.0 packets
still in a queue stay readable. Errors name the failing location and rule but never
echo the offending value, which might be personal data that escaped masking.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from frontline.errors import ConfigurationError, PacketInvalid
from frontline.settings import PROJECT_ROOT

SCHEMA_VERSION = "1.1"
#: The schema of every packet version; packets are built in :data:`SCHEMA_VERSION`.
SCHEMA_PATHS: dict[str, Path] = {
    "1.0": PROJECT_ROOT / "schemas" / "handoff_packet.v1.json",
    "1.1": PROJECT_ROOT / "schemas" / "handoff_packet.v1.1.json",
}
SCHEMA_PATH: Path = SCHEMA_PATHS[SCHEMA_VERSION]


@lru_cache(maxsize=len(SCHEMA_PATHS))
def _validator(version: str = SCHEMA_VERSION) -> jsonschema.protocols.Validator:
    """Loads and checks the schema of one packet version, once per process."""
    path = SCHEMA_PATHS[version]
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
        validator_class = jsonschema.validators.validator_for(schema)
        validator_class.check_schema(schema)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot load handoff packet schema {path}") from exc
    except jsonschema.SchemaError as exc:
        raise ConfigurationError(f"handoff packet schema {path} is invalid") from exc
    return validator_class(schema, format_checker=jsonschema.FormatChecker())


def load_schema(version: str = SCHEMA_VERSION) -> dict[str, Any]:
    """Returns the JSON Schema of a packet version (a copy; the loaded one is cached).

    Raises:
        ConfigurationError: The schema file is missing or is not a valid schema.
        KeyError: There is no such packet version.
    """
    return json.loads(json.dumps(_validator(version).schema))


def validate_packet(packet: Mapping[str, Any]) -> None:
    """Checks a packet against the schema of its ``schema_version``.

    The error message names the failing location and rule but never echoes the
    offending value, which might be personal data that escaped masking.

    Raises:
        PacketInvalid: The packet does not match the schema.
        ConfigurationError: The schema itself cannot be loaded.
    """
    version = packet.get("schema_version") if isinstance(packet, Mapping) else None
    if version not in SCHEMA_PATHS:
        known = ", ".join(SCHEMA_PATHS)
        raise PacketInvalid(f"handoff packet has no known schema_version (one of {known})")
    error = best_match(_validator(str(version)).iter_errors(packet))
    if error is not None:
        raise PacketInvalid(_describe(error, str(version))) from error


def _describe(error: ValidationError, version: str) -> str:
    location = "/" + "/".join(str(part) for part in error.absolute_path)
    rule = error.validator
    if rule == "required" and isinstance(error.instance, Mapping):
        missing = [key for key in error.validator_value if key not in error.instance]
        detail = f"missing {', '.join(missing)}"
    elif rule == "additionalProperties" and isinstance(error.instance, Mapping):
        allowed = set((error.schema or {}).get("properties", {}))
        extra = sorted(str(key) for key in error.instance if key not in allowed)
        detail = f"unexpected {', '.join(extra)}"
    else:
        detail = f"{rule} {json.dumps(error.validator_value, default=str)[:200]}"
    return f"handoff packet v{version} is invalid at {location}: {detail}"
