"""The NLU training examples as plain text, read without Rasa (fast, for the desk too).

Reads Rasa's YAML training data (``nlu:`` items with an ``intent`` and an ``examples``
block), drops entity annotations (``[482913](order_id)`` -> ``482913``) and normalises
texts the way the training-data tests compare them.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from frontline.errors import ConfigurationError

logger = logging.getLogger(__name__)

_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")
_PUNCTUATION = re.compile(r"[!?.,;:'\"()-]")


@dataclass(frozen=True)
class Example:
    """One training example: its full intent (``faq/returns``), its text, its file."""

    intent: str
    text: str
    path: Path


def plain(text: str) -> str:
    """The example's text without entity annotations."""
    return _ANNOTATION.sub(r"\1", text).strip()


def normalised(text: str) -> str:
    """Lower case, punctuation and spacing ignored: "Bye!!" is "bye"."""
    return " ".join(_PUNCTUATION.sub(" ", text.lower()).split())


def read_file(path: Path) -> list[Example]:
    """The intent examples of one YAML file (none for files without ``nlu``).

    Raises:
        ConfigurationError: The file is not YAML.
    """
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"cannot read training data {path}: {exc}") from exc
    examples = []
    for item in document.get("nlu") or [] if isinstance(document, dict) else []:
        if not isinstance(item, dict) or not item.get("intent"):
            continue
        block = item.get("examples") or ""
        for line in str(block).splitlines():
            line = line.strip()
            if line.startswith("- "):
                examples.append(Example(str(item["intent"]), plain(line[2:]), path))
    return examples


def read_examples(directory: Path, *, exclude: Path | None = None) -> list[Example]:
    """Every intent example under ``directory`` (except under ``exclude``), by file name."""
    examples = []
    for path in sorted(directory.rglob("*.yml")):
        if exclude is not None and path.is_relative_to(exclude):
            continue
        examples += read_file(path)
    return examples


def intents(examples: list[Example]) -> list[str]:
    """The full intents the examples teach, sorted."""
    return sorted({example.intent for example in examples})
