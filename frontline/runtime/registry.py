"""Every run-time patch, in the order the launcher applies them.

To add a patch: write ``frontline/runtime/patches/<name>.py`` with a docstring whose
"Why a patch:" paragraph says what upstream does, what it costs, what the patch does
instead and why no documented seam can; end it with ``PATCH = Patch(...)`` naming its
stock-equivalence tests, the exact upstream versions and the replaced attributes; add
the module to :data:`PATCH_MODULES`; copy ``tests/runtime/patch_test_template.py`` for
its equivalence test. ``tests/runtime/test_registry.py`` then checks it like every other
patch (declared versions installed, targets exist upstream, applied and reverted, guard
tests present). ``docs/decisions/runtime-patches.md`` lists why each patch exists.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from frontline.runtime.patch import Patch, VersionLookup, VersionMismatch, installed_version

#: The patch modules, each defining ``PATCH``; applied in this order.
PATCH_MODULES = (
    "frontline.runtime.patches.schema_check",
    "frontline.runtime.patches.debug_logs",
    "frontline.runtime.patches.model_freeze",
    "frontline.runtime.patches.sanic_workers",
    "frontline.runtime.patches.graph_runner",
    "frontline.runtime.patches.applied_events",
    "frontline.runtime.patches.past_states",
    "frontline.runtime.patches.tracker_copy",
    "frontline.runtime.patches.rule_matching",
    "frontline.runtime.patches.prediction_states",
    "frontline.runtime.patches.action_history",
    "frontline.runtime.patches.action_failures",
)

#: The upstream packages patches are written against (named in a load failure, when the
#: patches' own versions cannot be read); every package a patch names is one of these.
UPSTREAM_PACKAGES = ("rasa", "rasa-sdk", "sanic", "jsonschema", "dask")


class PatchLoadError(RuntimeError):
    """A patch module could not be imported, most likely against other upstream versions."""


def load_patches(modules: Iterable[str] = PATCH_MODULES) -> list[Patch]:
    """The patches of ``modules``, in order (imports them, which imports Rasa).

    Raises:
        PatchLoadError: A module failed to import; the message names the installed
            versions of :data:`UPSTREAM_PACKAGES`.
    """
    patches = []
    for name in modules:
        try:
            module = importlib.import_module(name)
        except (ImportError, AttributeError) as error:
            found = ", ".join(f"{p} {installed_version(p)}" for p in UPSTREAM_PACKAGES)
            raise PatchLoadError(
                f"the run-time patch module {name} does not load ({error!r}); installed: "
                f"{found}. It was written for other versions (see its PATCH.versions)."
            ) from error
        patches.append(module.PATCH)
    return patches


def version_mismatches(
    patches: Iterable[Patch], lookup: VersionLookup = installed_version
) -> list[VersionMismatch]:
    """Every (patch, package) whose installed version is not the one the patch expects."""
    return [mismatch for patch in patches for mismatch in patch.version_mismatches(lookup)]


def describe_mismatches(mismatches: list[VersionMismatch]) -> str:
    """One line per package: expected and found versions, and the patches concerned."""
    by_package: dict[tuple[str, str, str], list[str]] = {}
    for mismatch in mismatches:
        key = (mismatch.package, mismatch.expected, mismatch.found)
        by_package.setdefault(key, []).append(mismatch.patch)
    return "\n".join(
        f"  {package}: the patches were written for {expected}, found {found} "
        f"(patches: {', '.join(names)})"
        for (package, expected, found), names in by_package.items()
    )


def apply_all(patches: Iterable[Patch]) -> dict[str, list[str]]:
    """Applies every patch, then checks each took effect.

    Returns:
        Patch name -> the targets that do not hold the patch's replacement (empty when
        every patch took effect).
    """
    patches = list(patches)
    for patch in patches:
        patch.apply()
    return {
        patch.name: [str(target) for target in patch.not_applied()]
        for patch in patches
        if not patch.is_applied()
    }
