"""``python -m sandbox``: creates the tables, seeds the demo data if needed, and serves.

Example::

    python -m sandbox --port 5080
    python -m sandbox --database-url postgresql://user@host/db --reset
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace

from sandbox.app import create_app
from sandbox.config import SandboxConfig
from sandbox.db import dispose_all, get_database
from sandbox.seed import reset, seed_if_empty
from sandbox.seed.builder import SeedSummary

logger = logging.getLogger("sandbox")

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="Serve the Frontline sandbox (CRM, orders and billing stand-in).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=5080, help="port to listen on")
    parser.add_argument(
        "--database-url",
        help="SQLAlchemy URL (default: SANDBOX_DATABASE_URL, else sqlite var/sandbox.db)",
    )
    parser.add_argument(
        "--reset", action="store_true", help="drop every sandbox table and seed afresh"
    )
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--access-log", action="store_true", help="log every request")
    parser.add_argument("--log-level", default="INFO", choices=LOG_LEVELS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Prepares the database and serves until interrupted."""
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level, format=LOG_FORMAT)
    config = SandboxConfig.from_env()
    if args.database_url:
        config = replace(config, database_url=args.database_url)

    database = get_database(config.database_url, pool_size=config.db_threads)
    summary: SeedSummary | None
    if args.reset:
        summary = reset(database)
        logger.info("database reset and seeded: %s", summary.as_dict())
    else:
        summary = seed_if_empty(database)
        if summary is None:
            logger.info("database already holds data; not seeding")
        else:
            logger.info("database seeded: %s", summary.as_dict())
    dispose_all()  # workers open their own connections

    app = create_app(config=config)
    logger.info(
        "sandbox listening on http://%s:%d (admin token %s)",
        args.host,
        args.port,
        "required" if config.admin_token else "not required",
    )
    app.run(
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=args.access_log,
        motd=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
