"""The web chat a company puts on its site: a small page and a widget, no build step.

``python -m webchat`` serves a demo page with the chat widget, the widget's script and
style sheet, and ``config.json`` (where the widget finds the assistant). The widget is
plain JavaScript: it speaks socket.io (Engine.IO v4 over WebSocket) to the Rasa
server's ``socketio`` channel itself, so nothing is fetched from the internet, and
nothing needs Node.js. See ``docs/webchat.md``.
"""

from webchat.app import create_app
from webchat.config import WebChatConfig

__all__ = ["WebChatConfig", "create_app"]
