"""``python -m webchat``: serves the chat page, the widget and its configuration.

Example::

    WEBCHAT_SOCKET_URL=http://127.0.0.1:5005 python -m webchat --port 8080
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from webchat.app import create_app
from webchat.config import WebChatConfig, WebChatConfigError

logger = logging.getLogger("webchat")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m webchat", description="Serve Frontline's web chat page and widget."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on")
    parser.add_argument(
        "--socket-url", help="the Rasa server (default: WEBCHAT_SOCKET_URL, else :5005)"
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Serves until interrupted."""
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    env = dict(os.environ)
    if args.socket_url:
        env["WEBCHAT_SOCKET_URL"] = args.socket_url
    try:
        config = WebChatConfig.from_env(env)
    except WebChatConfigError as exc:
        logger.error("%s", exc)
        return 2
    app = create_app(config)
    logger.info("Web chat on http://%s:%s, talking to %s", args.host, args.port, config.socket_url)
    app.run(host=args.host, port=args.port, access_log=False, motd=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
