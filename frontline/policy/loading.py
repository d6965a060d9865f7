"""Reading one policy module: the YAML file, its JSON Schema, and shared checks.

Each module is a YAML file with a ``policy`` name, a semantic ``version`` and an
``owner``, validated against ``policies/schemas/<name>.schema.json``. The typed views
(:mod:`frontline.policy.escalation`, ...) then check what a schema cannot say, with
:func:`invalid` and :func:`compile_patterns`. An invalid module raises
``ConfigurationError``: the action server and the Rasa server refuse to start with it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar, overload

import jsonschema
import yaml

from frontline.errors import ConfigurationError
from frontline.settings import get_settings

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class PolicyModule:
    """One validated policy file."""

    name: str
    version: str
    owner: str
    rules: dict[str, Any]
    path: Path


class RuleValue(Generic[T]):
    """A read-only attribute of a typed view: one value of its module's rules.

    ``window_days = RuleValue(int, "window", "days")`` reads ``rules["window"]["days"]``
    as an ``int`` (the schema has checked that it is there).
    """

    def __init__(self, convert: Callable[[Any], T], *path: str) -> None:
        self.convert = convert
        self.path = path

    @overload
    def __get__(self, view: None, owner: type | None = None) -> RuleValue[T]:
        ...

    @overload
    def __get__(self, view: PolicyView, owner: type | None = None) -> T:
        ...

    def __get__(self, view: PolicyView | None, owner: type | None = None) -> RuleValue[T] | T:
        if view is None:
            return self
        value: Any = view.module.rules
        for key in self.path:
            value = value[key]
        return self.convert(value)


@dataclass(frozen=True)
class PolicyView:
    """The typed view of one module: subclasses read its rules as named properties."""

    module: PolicyModule

    @property
    def version(self) -> str:
        """The module's semantic version, recorded with every decision."""
        return self.module.version


def load_policy(name: str, policies_dir: Path | None = None) -> PolicyModule:
    """Reads and validates ``<policies_dir>/<name>.yml`` against its schema.

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


def invalid(module: PolicyModule, where: str, problem: str) -> ConfigurationError:
    """The error for a rule of ``module`` that breaks a check its schema cannot express."""
    return ConfigurationError(f"policy '{module.name}' is invalid at rules/{where}: {problem}")


def phrase_pattern(phrase: str) -> str:
    """A regular expression matching ``phrase`` as whole words, any whitespace between."""
    words = [re.escape(word) for word in phrase.lower().split()]
    return r"(?<![\w])" + r"\s+".join(words) + r"(?![\w])"


def compile_patterns(
    module: PolicyModule, where: str, patterns: list[str]
) -> re.Pattern[str] | None:
    """One case-insensitive alternation of ``patterns`` (None when there are none).

    Raises:
        ConfigurationError: a pattern is not a valid regular expression.
    """
    if not patterns:
        return None
    try:
        return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
    except re.error as exc:
        raise invalid(module, where, f"bad regular expression: {exc}") from exc
