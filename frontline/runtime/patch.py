"""What a run-time patch is: upstream attributes it replaces, the versions it was written for.

A :class:`Patch` names each upstream attribute it replaces as a :class:`Target`
(``"module:Class.attribute"`` or ``"module:attribute"``), the replacement for each, the
exact versions of the upstream packages it was written against, why it exists and which
test proves it gives stock Rasa's results. ``apply()`` swaps the replacements in and
remembers the originals, ``is_applied()`` checks that every target now holds ours (an
upstream change that moved a target would otherwise leave the patch silently doing
nothing), ``revert()`` puts the originals back (tests).

This module imports nothing from Rasa: the launcher reads versions before any patch
module is loaded.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

#: What :meth:`Target.raw` gives for an attribute its owner inherits from a base class.
INHERITED = object()

#: Looks up the installed version of a distribution (``importlib.metadata.version``).
VersionLookup = Callable[[str], str]


def installed_version(package: str) -> str:
    """The installed version of ``package``, or ``"not installed"``."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


@dataclass(frozen=True)
class Target:
    """One upstream attribute: ``module:attribute`` or ``module:Class.attribute``."""

    path: str

    @property
    def module(self) -> str:
        return self.path.partition(":")[0]

    @property
    def attribute(self) -> str:
        return self.qualname.rpartition(".")[2]

    @property
    def qualname(self) -> str:
        return self.path.partition(":")[2]

    def owner(self) -> Any:
        """The module or class that holds the attribute (imports the module)."""
        owner: Any = importlib.import_module(self.module)
        for name in self.qualname.split(".")[:-1]:
            owner = getattr(owner, name)
        return owner

    def current(self) -> Any:
        """What the attribute holds now, as callers see it (a static method unwrapped)."""
        return getattr(self.owner(), self.attribute)

    def raw(self) -> Any:
        """What the owner itself stores under the attribute's name (a static method
        wrapped), or :data:`INHERITED` if the owner only inherits it."""
        return vars(self.owner()).get(self.attribute, INHERITED)

    def exists(self) -> bool:
        """Whether upstream still has the attribute where the patch expects it."""
        try:
            return hasattr(self.owner(), self.attribute)
        except (ImportError, AttributeError):
            return False

    def __str__(self) -> str:
        return f"{self.module}.{self.qualname}"


@dataclass(frozen=True)
class VersionMismatch:
    """An upstream package whose installed version is not the one a patch was written for."""

    patch: str
    package: str
    expected: str
    found: str

    def __str__(self) -> str:
        return (
            f"patch '{self.patch}' was written for {self.package} {self.expected}, "
            f"but {self.package} {self.found} is installed"
        )


@dataclass
class Patch:
    """One run-time replacement of upstream attributes (or a tight group of them).

    Args:
        name: Short identifier (logs, ``python -m frontline.runtime patches``).
        reason: Why a patch: what upstream does, what it costs, what we do instead, and
            why no documented seam does it (the patch module's docstring).
        guarded_by: The stock-equivalence tests proving the replacement gives upstream's
            results: test file -> names of its tests.
        versions: Exact versions of the upstream packages the patch was written for.
        replacements: Target path -> the value it gets.
    """

    name: str
    reason: str
    guarded_by: Mapping[str, tuple[str, ...]]
    versions: Mapping[str, str]
    replacements: Mapping[str, Any]
    _originals: dict[Target, Any] = field(default_factory=dict, repr=False)

    @property
    def targets(self) -> tuple[Target, ...]:
        return tuple(Target(path) for path in self.replacements)

    @property
    def summary(self) -> str:
        """The first line of :attr:`reason`."""
        return self.reason.strip().splitlines()[0]

    @property
    def guard_tests(self) -> list[str]:
        """The guarding tests as pytest node ids (``path::name``)."""
        return [f"{path}::{name}" for path, names in self.guarded_by.items() for name in names]

    def version_mismatches(
        self, lookup: VersionLookup = installed_version
    ) -> list[VersionMismatch]:
        """The packages whose installed version differs from the one the patch expects."""
        mismatches = []
        for package, expected in self.versions.items():
            found = lookup(package)
            if found != expected:
                mismatches.append(VersionMismatch(self.name, package, expected, found))
        return mismatches

    def apply(self) -> None:
        """Swaps the replacements in (idempotent); remembers what each target held."""
        for target in self.targets:
            replacement = self.replacements[target.path]
            if target.current() is replacement:
                continue
            raw = target.raw()
            self._originals[target] = raw
            value = staticmethod(replacement) if isinstance(raw, staticmethod) else replacement
            setattr(target.owner(), target.attribute, value)

    def is_applied(self) -> bool:
        """Whether every target now holds its replacement."""
        return not self.not_applied()

    def not_applied(self) -> list[Target]:
        """The targets that do not hold their replacement."""
        return [t for t in self.targets if t.current() is not self.replacements[t.path]]

    def revert(self) -> None:
        """Puts back what :meth:`apply` replaced (tests)."""
        for target, original in self._originals.items():
            if original is INHERITED:
                delattr(target.owner(), target.attribute)
            else:
                setattr(target.owner(), target.attribute, original)
        self._originals.clear()

    @contextmanager
    def applied(self) -> Iterator[None]:
        """Applies the patch for the ``with`` block, then reverts it (tests)."""
        self.apply()
        try:
            yield
        finally:
            self.revert()
