"""Which model is in production: ``models/production.json``, and model ids.

The registry file names the production model (its Rasa ``model_id``, the one every
decision record and outcome record carries, and its path relative to the project), the
model it replaced (what ``rollback`` restores) and the candidate that last passed the
gate. Written atomically (a temporary file renamed over it). Without the file, the
production model is ``models/frontline.tar.gz`` (what ``make train`` writes).
"""

from __future__ import annotations

import json
import os
import tarfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from frontline.errors import ConfigurationError

REGISTRY_FILE = Path("models") / "production.json"
DEFAULT_MODEL = Path("models") / "frontline.tar.gz"
CANDIDATES_DIR = Path("models") / "candidates"


def model_id(path: Path) -> str:
    """The Rasa ``model_id`` in a model archive's ``metadata.json``.

    Raises:
        ConfigurationError: the file is missing or not a Rasa model archive.
    """
    try:
        with tarfile.open(path, "r:gz") as archive:
            member = next(
                (m for m in archive.getmembers() if m.name.lstrip("/") == "metadata.json"), None
            )
            handle = archive.extractfile(member) if member else None
            if handle is None:
                raise ConfigurationError(f"{path} has no metadata.json: not a Rasa model")
            return str(json.load(handle)["model_id"])
    except (OSError, tarfile.TarError, KeyError, json.JSONDecodeError) as exc:
        raise ConfigurationError(f"cannot read the model id of {path}: {exc}") from exc


@dataclass(frozen=True)
class ModelRef:
    """A model: its id and its path relative to the project root."""

    model_id: str
    path: str
    figures: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelRef:
        return cls(str(data["model_id"]), str(data["path"]), data.get("figures"))


class Registry:
    """Reads and writes ``models/production.json`` under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.file = root / REGISTRY_FILE

    def _read(self) -> dict[str, Any]:
        if not self.file.exists():
            return {}
        try:
            return dict(json.loads(self.file.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigurationError(f"cannot read {self.file}: {exc}") from exc

    def _write(self, data: dict[str, Any]) -> None:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.file.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(temporary, self.file)

    def _ref(self, key: str) -> ModelRef | None:
        value = self._read().get(key)
        return ModelRef.from_dict(value) if value else None

    def production(self) -> ModelRef:
        """The production model (``models/frontline.tar.gz`` when no registry file exists)."""
        ref = self._ref("production")
        if ref is not None:
            return ref
        return ModelRef(model_id(self.root / DEFAULT_MODEL), str(DEFAULT_MODEL))

    def previous(self) -> ModelRef | None:
        """The model production replaced last, or None."""
        return self._ref("previous")

    def approved(self) -> ModelRef | None:
        """The candidate that last passed the gate and is not yet in production, or None."""
        return self._ref("approved")

    def path_of(self, ref: ModelRef) -> Path:
        return self.root / ref.path

    def approve(self, candidate: ModelRef) -> None:
        """Records a candidate that passed the gate."""
        data = self._read()
        data.setdefault("production", self.production().as_dict())
        data["approved"] = candidate.as_dict()
        self._write(data)

    def promote(self, candidate: ModelRef) -> ModelRef:
        """Makes ``candidate`` the production model; returns the one it replaces."""
        current = self.production()
        data = self._read()
        data.update(production=candidate.as_dict(), previous=current.as_dict(), approved=None)
        self._write(data)
        return current

    def restore_previous(self) -> tuple[ModelRef, ModelRef]:
        """Puts the previous production model back; returns (restored, withdrawn).

        Raises:
            ConfigurationError: there is no previous model to go back to.
        """
        previous = self.previous()
        if previous is None:
            raise ConfigurationError("no previous production model to roll back to")
        current = self.production()
        data = self._read()
        data.update(production=previous.as_dict(), previous=None)
        self._write(data)
        return previous, current

    def reject_approved(self) -> ModelRef | None:
        """Forgets the approved candidate (a rolled-back canary); returns it."""
        approved = self.approved()
        if approved is not None:
            data = self._read()
            data["approved"] = None
            self._write(data)
        return approved
