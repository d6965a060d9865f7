"""``python -m webchat``: the page, the widget's files and config.json, over real HTTP."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.processes import REPO_ROOT, ServerProcess
from webchat.app import content_security_policy
from webchat.config import WebChatConfig, WebChatConfigError


def webchat_process(log_dir: Path, **env: str) -> ServerProcess:
    return ServerProcess(
        "webchat",
        [sys.executable, "-m", "webchat", "--port", "{port}", "--log-level", "WARNING"],
        health_path="/health",
        log_dir=log_dir,
        env={key: None for key in ("WEBCHAT_TITLE", "WEBCHAT_NOTICE", "WEBCHAT_SOCKET_PATH")} | env,
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[ServerProcess]:
    process = webchat_process(
        tmp_path_factory.mktemp("webchat"),
        WEBCHAT_SOCKET_URL="https://assistant.example.com",
        WEBCHAT_STORAGE="local",
    ).start()
    yield process
    process.stop()


def test_the_page_embeds_the_widget_under_a_strict_policy(server):
    page = requests.get(f"{server.url}/", timeout=10)

    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert '<script src="/frontline-chat.js" defer></script>' in page.text
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "connect-src 'self' https://assistant.example.com wss://assistant.example.com" in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("path", "kind", "marker"),
    [
        ("/frontline-chat.js", "text/javascript", "window.FrontlineChat"),
        ("/frontline-chat.css", "text/css", ".fl-chat"),
    ],
)
def test_the_widget_files_can_be_embedded_on_another_site(server, path, kind, marker):
    answer = requests.get(f"{server.url}{path}", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith(kind)
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert marker in answer.text
    assert answer.content == (REPO_ROOT / "webchat" / "static" / path.lstrip("/")).read_bytes()


def test_config_json_tells_the_widget_where_the_assistant_is(server):
    answer = requests.get(f"{server.url}/config.json", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert answer.json() == {
        "socketUrl": "https://assistant.example.com",
        "socketPath": "/socket.io/",
        "title": "Customer support",
        "notice": WebChatConfig.notice,
        "humanPayload": "/request_human",
        "storage": "local",
    }


def test_nothing_else_is_served(server):
    for path in ("/webchat/app.py", "/../credentials.yml", "/static/index.html", "/admin"):
        assert requests.get(f"{server.url}{path}", timeout=10).status_code == 404


def test_a_bad_socket_url_stops_the_server_with_a_clear_message():
    result = subprocess.run(
        [sys.executable, "-m", "webchat", "--socket-url", "ftp://nowhere"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "WEBCHAT_SOCKET_URL must be an http(s) URL" in result.stderr


def test_configuration_from_the_environment():
    config = WebChatConfig.from_env(
        {
            "WEBCHAT_SOCKET_URL": "http://10.0.0.5:5005/",
            "WEBCHAT_TITLE": "Help",
            "WEBCHAT_STORAGE": "session",
        }
    )
    assert config.socket_url == "http://10.0.0.5:5005"
    assert config.socket_origins == ("http://10.0.0.5:5005", "ws://10.0.0.5:5005")
    assert config.title == "Help"
    assert WebChatConfig.from_env({}).socket_url == "http://127.0.0.1:5005"
    assert "connect-src 'self' http://10.0.0.5:5005 ws://10.0.0.5:5005" in (
        content_security_policy(config)
    )


@pytest.mark.parametrize(
    "env",
    [
        {"WEBCHAT_SOCKET_URL": "not a url"},
        {"WEBCHAT_SOCKET_PATH": "socket.io"},
        {"WEBCHAT_STORAGE": "cookie"},
    ],
)
def test_invalid_configuration_is_refused(env):
    with pytest.raises(WebChatConfigError):
        WebChatConfig.from_env(env)
