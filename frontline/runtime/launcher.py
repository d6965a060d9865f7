"""Starts Rasa's command line on Frontline's runtime: patches checked, applied and verified.

    python -m frontline.runtime run --model models/frontline.tar.gz --enable-api ...
    python -m frontline.runtime train --domain domain ...      # and test, shell, ...
    python -m frontline.runtime patches                         # what would be applied

Everything after the module name goes to Rasa's own command line. Before Rasa starts:

1. Secrets (``RASA_AUTH_TOKEN``, ``RASA_JWT_SECRET``, ...) come from the environment or
   an owner-only file and are handed to Rasa inside the process
   (:mod:`frontline.runtime.server_secrets`); one given on the command line is refused.
2. With ``FRONTLINE_STOCK_RASA=1`` nothing else happens: stock Rasa runs, and says so.
3. Otherwise every patch of :mod:`frontline.runtime.registry` is loaded and the installed
   upstream versions are compared with those each patch was written for; any difference
   refuses the start, naming package, expected and found version.
4. The patches are applied, and each target attribute is checked to hold the patch's
   replacement; one that does not (upstream moved it) refuses the start.

A refused start prints why and exits with status 2.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping, Sequence

from frontline.action_auth import export_action_secret
from frontline.runtime import registry
from frontline.runtime.patch import VersionLookup, installed_version
from frontline.runtime.server_secrets import SecretRefused, with_secrets

logger = logging.getLogger("frontline.runtime")

STOCK_ENV = "FRONTLINE_STOCK_RASA"
REFUSED_STATUS = 2


class LaunchRefused(RuntimeError):
    """The runtime refuses to start Rasa (the message says why and what to do)."""


def stock_mode(env: Mapping[str, str] | None = None) -> bool:
    """Whether ``FRONTLINE_STOCK_RASA`` asks for stock Rasa (no patch applied)."""
    env = os.environ if env is None else env
    return env.get(STOCK_ENV, "").strip().lower() in ("1", "true", "yes")


def prepare_runtime(
    env: Mapping[str, str] | None = None, lookup: VersionLookup = installed_version
) -> list[str]:
    """Checks, applies and verifies the patches (none in stock mode).

    Args:
        env: The environment (``os.environ`` by default).
        lookup: Finds an installed package's version.

    Returns:
        The names of the patches applied.

    Raises:
        LaunchRefused: A patch does not load, was written for other upstream versions,
            or did not take effect.
    """
    if stock_mode(env):
        logger.warning(
            "%s=1: stock Rasa %s, no run-time patch applied.", STOCK_ENV, installed_version("rasa")
        )
        return []
    try:
        patches = registry.load_patches()
    except registry.PatchLoadError as error:
        raise LaunchRefused(f"{error}\n{_WHAT_TO_DO}") from error
    mismatches = registry.version_mismatches(patches, lookup)
    if mismatches:
        raise LaunchRefused(
            "Frontline's run-time patches were written for other versions of these "
            f"packages:\n{registry.describe_mismatches(mismatches)}\n{_WHAT_TO_DO}"
        )
    not_applied = registry.apply_all(patches)
    if not_applied:
        lines = "\n".join(f"  {name}: {', '.join(t)}" for name, t in not_applied.items())
        raise LaunchRefused(
            "these run-time patches did not take effect (the attribute does not hold the "
            f"patch's replacement after applying it):\n{lines}\n{_WHAT_TO_DO}"
        )
    names = [patch.name for patch in patches]
    logger.info("Run-time patches applied and verified: %s.", ", ".join(names))
    return names


_WHAT_TO_DO = (
    "Port and re-test the patch against the installed version "
    "(docs/decisions/runtime-patches.md), or run stock Rasa with FRONTLINE_STOCK_RASA=1."
)


def describe_patches() -> str:
    """One block per patch: what it is for, its targets and versions, applied or not."""
    blocks = []
    for patch in registry.load_patches():
        versions = ", ".join(
            f"{package} {expected} (installed {installed_version(package)})"
            for package, expected in patch.versions.items()
        )
        blocks.append(
            f"{patch.name}: {patch.summary}\n"
            f"  applied: {'yes' if patch.is_applied() else 'no'}\n"
            f"  versions: {versions}\n"
            f"  targets: {', '.join(str(t) for t in patch.targets)}\n"
            "  guarded by:\n" + "\n".join(f"    {test}" for test in patch.guard_tests)
        )
    return "\n\n".join(blocks)


def _show_startup_messages() -> None:
    """Shows this logger's messages before Rasa configures logging (and after)."""
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-8s %(name)s  - %(message)s")
        )
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def main(argv: Sequence[str] | None = None) -> None:
    """Prepares the runtime, then runs Rasa's command line with ``argv``."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        rasa_args = with_secrets(args)
        # endpoints.yml sends ${FRONTLINE_ACTION_SECRET} to the action server.
        export_action_secret()
        _show_startup_messages()
        prepare_runtime()
    except (LaunchRefused, SecretRefused) as error:
        print(f"frontline.runtime: refusing to start Rasa: {error}", file=sys.stderr)
        raise SystemExit(REFUSED_STATUS) from error
    if args[:1] == ["patches"]:
        print(describe_patches())
        return
    from rasa.__main__ import main as rasa_main

    # Rasa parses sys.argv; the process's command line (/proc/<pid>/cmdline) stays as it
    # was started, without the secrets added here.
    sys.argv = ["rasa", *rasa_args]
    rasa_main()
