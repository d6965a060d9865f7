"""Rasa's server secrets from the environment or an owner-only file, never a command line.

``rasa run --auth-token TOKEN`` puts the token in the process's command line, which any
local user can read (``ps``, ``/proc/<pid>/cmdline``). The launcher reads each secret from
``<NAME>`` or from the file named by ``<NAME>_FILE`` (readable by its owner only) and
hands it to Rasa's argument parser inside the process (``sys.argv``), which the kernel's
copy of the command line does not see.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


class SecretRefused(ValueError):
    """A secret was offered in a way the launcher does not accept (the message says why)."""


@dataclass(frozen=True)
class ServerSecret:
    """A secret option of ``rasa run`` and where the launcher reads its value."""

    variable: str
    option: str

    @property
    def file_variable(self) -> str:
        return f"{self.variable}_FILE"


#: Rasa's secret options (``rasa run``, ``rasa shell``) and their environment variables.
SERVER_SECRETS = (
    ServerSecret("RASA_AUTH_TOKEN", "--auth-token"),
    ServerSecret("RASA_JWT_SECRET", "--jwt-secret"),
    ServerSecret("RASA_JWT_PRIVATE_KEY", "--jwt-private-key"),
)


def read_secret(secret: ServerSecret, env: Mapping[str, str]) -> str | None:
    """The secret's value from ``env`` or its owner-only file; None if neither is set.

    Raises:
        SecretRefused: Both are set, the file is readable by its group or others, cannot
            be read, or holds nothing.
    """
    value = env.get(secret.variable) or None
    file_name = env.get(secret.file_variable) or None
    if value and file_name:
        raise SecretRefused(
            f"both {secret.variable} and {secret.file_variable} are set; set only one"
        )
    if file_name is None:
        return value
    path = Path(file_name)
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise SecretRefused(
                f"{secret.file_variable}={path} can be read by other users (mode "
                f"{stat.filemode(mode)}); make it owner-only: chmod 600 {path}"
            )
        content = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise SecretRefused(f"{secret.file_variable}={path} cannot be read: {error}") from error
    if not content:
        raise SecretRefused(f"{secret.file_variable}={path} is empty")
    return content


def serves_http(args: Sequence[str]) -> bool:
    """Whether Rasa's command ``args`` starts its HTTP server (``run``, ``shell``)."""
    if not args:
        return False
    if args[0] == "run":
        return args[1:2] != ["actions"]
    return args[0] == "shell"


def with_secrets(args: Sequence[str], env: Mapping[str, str] | None = None) -> list[str]:
    """Rasa's command line with the server secrets of ``env`` added as options.

    Raises:
        SecretRefused: A secret option is on the command line itself, or a secret's
            source is refused (:func:`read_secret`).
    """
    env = os.environ if env is None else env
    for secret in SERVER_SECRETS:
        if any(arg == secret.option or arg.startswith(f"{secret.option}=") for arg in args):
            raise SecretRefused(
                f"{secret.option} on the command line can be read by every local user "
                f"(/proc/<pid>/cmdline); set {secret.variable} or {secret.file_variable} "
                "instead"
            )
    arguments = list(args)
    if not serves_http(arguments):
        return arguments
    for secret in SERVER_SECRETS:
        value = read_secret(secret, env)
        if value is not None:
            arguments += [secret.option, value]
    return arguments
