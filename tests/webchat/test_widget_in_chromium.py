"""The widget's own JavaScript in headless Chromium: the socket.io protocol, going offline.

The conversations themselves run against the whole stack in ``tests/e2e/test_webchat.py``;
here the widget is served with no assistant behind it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.processes import ServerProcess, free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def page_url(tmp_path_factory) -> Iterator[str]:
    """The demo page, configured with an assistant that is not there."""
    server = ServerProcess(
        "webchat",
        [sys.executable, "-m", "webchat", "--port", "{port}", "--log-level", "WARNING"],
        health_path="/health",
        log_dir=tmp_path_factory.mktemp("webchat"),
        env={"WEBCHAT_SOCKET_URL": f"http://127.0.0.1:{free_port()}"},
    ).start()
    yield server.url
    server.stop()


def run(browser, expression: str):
    """Evaluates ``expression`` with ``P`` bound to the widget's protocol helpers."""
    script = f"const P = window.FrontlineChat.protocol; return JSON.stringify({expression});"
    return json.loads(browser.execute_script(script))


def test_socket_urls(browser, page_url):
    browser.get(page_url)
    WebDriverWait(browser, 10).until(lambda d: d.execute_script("return !!window.FrontlineChat"))
    assert run(browser, 'P.socketUrl("http://127.0.0.1:5005", "/socket.io/")') == (
        "ws://127.0.0.1:5005/socket.io/?EIO=4&transport=websocket"
    )
    assert run(browser, 'P.socketUrl("https://chat.example.com/bot/", "socket.io")') == (
        "wss://chat.example.com/bot/socket.io/?EIO=4&transport=websocket"
    )


def test_engine_io_and_socket_io_packets(browser, page_url):
    browser.get(page_url)
    WebDriverWait(browser, 10).until(lambda d: d.execute_script("return !!window.FrontlineChat"))
    opened = run(browser, 'P.decodeEnginePacket(\'0{"sid":"a","pingInterval":25000}\')')
    assert opened == {"type": "open", "data": {"sid": "a", "pingInterval": 25000}}
    assert run(browser, 'P.decodeEnginePacket("2")') == {"type": "ping", "data": ""}
    assert run(browser, "P.decodeEnginePacket('42[\"x\",1]')") == {
        "type": "message",
        "data": '2["x",1]',
    }
    assert run(browser, 'P.decodeSocketPacket(\'2["bot_uttered",{"text":"Hi"}]\')') == {
        "type": "event",
        "namespace": "/",
        "id": None,
        "data": ["bot_uttered", {"text": "Hi"}],
    }
    assert run(browser, "P.decodeSocketPacket('2/chat,17[\"a\",2]')") == {
        "type": "event",
        "namespace": "/chat",
        "id": 17,
        "data": ["a", 2],
    }
    assert run(browser, 'P.decodeSocketPacket(\'0{"sid":"s1"}\')')["type"] == "connect"
    assert run(browser, 'P.decodeSocketPacket(\'4{"message":"no"}\')')["type"] == ("connect_error")
    assert run(browser, 'P.encodeEvent("user_uttered", {message: "hi", session_id: "ab"})') == (
        '42["user_uttered",{"message":"hi","session_id":"ab"}]'
    )
    assert run(browser, 'P.encodeEvent("e", 1, "/chat")') == '42/chat,["e",1]'
    assert run(browser, 'P.encodeConnect("/")') == "40"
    for bad in ("'x'", "'51-[\"a\",{}]'"):
        refused = browser.execute_script(
            f"try {{ window.FrontlineChat.protocol.decodeSocketPacket({bad}); return false; }}"
            " catch (e) { return true; }"
        )
        assert refused, bad


def test_without_the_assistant_the_page_says_so_and_keeps_what_was_typed(browser, page_url):
    browser.get(page_url)
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, ".fl-launcher")).click()
    wait.until(
        lambda d: d.find_element(By.CSS_SELECTOR, ".fl-chat").get_attribute("data-state")
        in ("offline", "reconnecting")
    )
    status = browser.find_element(By.CSS_SELECTOR, ".fl-status")
    assert status.is_displayed() and "onnect" in status.text

    field = browser.find_element(By.CSS_SELECTOR, ".fl-input")
    field.send_keys("where is my order?", Keys.ENTER)
    mine = browser.find_elements(By.CSS_SELECTOR, ".fl-from-user .fl-bubble")
    assert [m.text for m in mine] == ["where is my order?"]
    browser.refresh()  # the transcript, and what is still to send, survive a reload
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".fl-from-user .fl-bubble"))
    assert browser.find_element(By.CSS_SELECTOR, ".fl-panel").is_displayed()
    stored = browser.execute_script(
        "return JSON.parse(sessionStorage.getItem(sessionStorage.key(0)))"
    )
    assert stored["outbox"] == ["where is my order?"]
    assert stored["sessionId"] is None  # never connected
