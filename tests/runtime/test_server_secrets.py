"""Rasa's secrets come from the environment or an owner-only file, never the command line.

That the token handed over in ``sys.argv`` reaches Rasa while the process's command line
stays clean is checked on the running stack (``tests/e2e/test_process_command_lines.py``).
"""

from __future__ import annotations

import pytest

from frontline.runtime import launcher
from frontline.runtime.server_secrets import SecretRefused, serves_http, with_secrets

RUN = ["run", "--model", "models/frontline.tar.gz", "--enable-api"]


def test_the_token_and_jwt_secret_from_the_environment_become_options():
    env = {"RASA_AUTH_TOKEN": "tok", "RASA_JWT_SECRET": "jwt"}
    assert with_secrets(RUN, env) == [*RUN, "--auth-token", "tok", "--jwt-secret", "jwt"]


def test_without_secrets_the_command_is_unchanged():
    assert with_secrets(RUN, {}) == RUN


@pytest.mark.parametrize(
    "command", [["run", "actions"], ["train", "--domain", "domain"], ["test", "core"], []]
)
def test_commands_that_serve_no_http_api_get_no_secret(command):
    assert with_secrets(command, {"RASA_AUTH_TOKEN": "tok"}) == command


def test_the_shell_gets_the_token_too():
    assert serves_http(["shell"]) and with_secrets(["shell"], {"RASA_AUTH_TOKEN": "t"})[-1] == "t"


@pytest.mark.parametrize(
    "option", [["--auth-token", "tok"], ["--auth-token=tok"], ["--jwt-secret", "s"]]
)
def test_a_secret_on_the_command_line_is_refused(option):
    with pytest.raises(SecretRefused, match="can be read by every local user"):
        with_secrets([*RUN, *option], {})


def test_an_owner_only_file_is_read(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("from-a-file\n")
    token_file.chmod(0o600)
    env = {"RASA_AUTH_TOKEN_FILE": str(token_file)}
    assert with_secrets(RUN, env)[-2:] == ["--auth-token", "from-a-file"]


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_a_file_others_can_read_is_refused(tmp_path, mode):
    token_file = tmp_path / "token"
    token_file.write_text("secret")
    token_file.chmod(mode)
    with pytest.raises(SecretRefused, match=f"can be read by other users.*chmod 600 {token_file}"):
        with_secrets(RUN, {"RASA_AUTH_TOKEN_FILE": str(token_file)})


def test_an_empty_missing_or_doubly_given_secret_is_refused(tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("\n")
    empty.chmod(0o600)
    with pytest.raises(SecretRefused, match="is empty"):
        with_secrets(RUN, {"RASA_AUTH_TOKEN_FILE": str(empty)})
    with pytest.raises(SecretRefused, match="cannot be read"):
        with_secrets(RUN, {"RASA_AUTH_TOKEN_FILE": str(tmp_path / "missing")})
    with pytest.raises(SecretRefused, match="both RASA_AUTH_TOKEN and RASA_AUTH_TOKEN_FILE"):
        with_secrets(RUN, {"RASA_AUTH_TOKEN": "a", "RASA_AUTH_TOKEN_FILE": str(empty)})


def test_the_launcher_refuses_a_token_on_its_command_line(capsys):
    with pytest.raises(SystemExit) as stopped:
        launcher.main(["run", "--auth-token", "tok"])
    assert stopped.value.code == launcher.REFUSED_STATUS
    assert "--auth-token on the command line" in capsys.readouterr().err
