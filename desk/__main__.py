"""``python -m desk``: serves the agent desk.

Example::

    RASA_AUTH_TOKEN=... python -m desk --port 5070

Configuration comes from the environment (``frontline.settings``): the handoff queue
(``REDIS_URL`` / ``FRONTLINE_DATABASE_URL``), ``RASA_URL`` and ``RASA_AUTH_TOKEN``,
``HANDOFF_LEASE_SECONDS``, ``DESK_SESSION_HOURS`` and ``DESK_IDLE_MINUTES``.
Create the first agent with ``python -m desk.agents add --name ana --role supervisor``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from desk.app import check_configuration, create_app
from frontline.db import dispose_engines
from frontline.errors import ConfigurationError
from frontline.settings import get_settings

logger = logging.getLogger("desk")

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line; sets up logging at the level it asks for."""
    parser = argparse.ArgumentParser(prog="python -m desk", description="Serve the agent desk.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=5070, help="port to listen on")
    parser.add_argument("--access-log", action="store_true", help="log every request")
    parser.add_argument("--log-level", default="INFO", choices=LOG_LEVELS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format=LOG_FORMAT)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Checks the configuration and serves until interrupted."""
    args = parse_args(argv)
    settings = get_settings()
    try:
        check_configuration(settings)
    except ConfigurationError as exc:
        logger.error("%s", exc)
        return 2
    dispose_engines()  # the server opens its own connections
    app = create_app(settings)
    logger.info("agent desk on http://%s:%d (Rasa at %s)", args.host, args.port, settings.rasa_url)
    # One process: the sign-in throttle and the background re-offer loop live in it.
    app.run(host=args.host, port=args.port, workers=1, access_log=args.access_log, motd=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
