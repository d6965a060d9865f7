"""``python -m frontline.action_server``: the action server, started only with valid policies.

Takes the same arguments as ``rasa run actions`` (``--actions actions --port 5055``,
...). Before the server starts it:

1. loads and checks every policy module (:func:`frontline.policy_check.check_all`): a
   broken policy prints what is wrong and exits with status 1, so the assistant never
   runs with rules it cannot apply;
2. installs :class:`frontline.masking.MaskingFilter` on the log handlers, so log lines
   are masked as the data-handling policy says for ``logs``;
3. adds ``GET /metrics`` (:mod:`frontline.metrics.prometheus`), ``GET /health/live``,
   ``GET /health/ready`` and the handoff outbox's delivery
   (:mod:`frontline.resilience.action_server_health`) through rasa-sdk's
   ``attach_sanic_app_extensions`` plug-in hook;
4. requires the shared secret of the Rasa server on every call
   (:mod:`frontline.action_auth`; refuses to start without one) and listens on
   127.0.0.1 unless ``FRONTLINE_ACTION_HOST`` says otherwise;
5. registers the feature flags as the write path's capability provider
   (:class:`frontline.flags.write_capabilities.FlagWriteCapabilities`): a write whose
   flag is off, or every write under the kill switch, goes to a person.

Then it runs rasa-sdk's server exactly as ``rasa run actions`` would.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

from rasa_sdk import utils
from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
from rasa_sdk.endpoint import create_argument_parser, run
from rasa_sdk.plugin import plugin_manager

from frontline.action_auth import DEFAULT_HOST, ActionServerAuth, action_secret
from frontline.flags.write_capabilities import FlagWriteCapabilities
from frontline.masking import MaskingFilter
from frontline.metrics.prometheus import ActionServerMetrics, registry_for
from frontline.outcomes.sql_store import SqlOutcomeStore
from frontline.policy import policies
from frontline.policy_check import check_all
from frontline.resilience.action_server_health import ActionServerHealth
from frontline.runtime.server_secrets import SecretRefused
from frontline.settings import get_settings
from frontline.writes import set_capability_provider

logger = logging.getLogger(__name__)


def install_masking_filter() -> MaskingFilter:
    """Adds the masking filter to every handler of the root and rasa-sdk loggers."""
    masking = MaskingFilter(policies().data_handling)
    for name in (None, APPLICATION_ROOT_LOGGER_NAME):
        for handler in logging.getLogger(name).handlers:
            handler.addFilter(masking)
    return masking


def main(argv: Sequence[str] | None = None) -> int:
    """Checks the policies, then runs the action server (blocks until it stops)."""
    args = create_argument_parser().parse_args(argv)
    problems = check_all(get_settings().policies_dir)
    if problems:
        for problem in problems:
            print(f"ERR {problem}", file=sys.stderr)
        print("The action server does not start with broken policies.", file=sys.stderr)
        return 1
    try:
        secret = action_secret()
    except SecretRefused as error:
        print(f"ERR {error}", file=sys.stderr)
        return 1
    if not secret:
        print(
            "ERR FRONTLINE_ACTION_SECRET (or FRONTLINE_ACTION_SECRET_FILE) is not set: the "
            "action server answers the Rasa server only, which sends that secret.",
            file=sys.stderr,
        )
        return 1
    logging.getLogger("matplotlib").setLevel(logging.WARN)
    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(
        logging.getLogger(APPLICATION_ROOT_LOGGER_NAME),
        args.log_file,
        args.loglevel,
        args.logging_config_file,
    )
    utils.update_sanic_log_level()
    install_masking_filter()
    logger.info("Policies: %s", policies().versions)
    settings = get_settings()  # GET /metrics through rasa-sdk's plug-in hook
    registry = registry_for("actions", SqlOutcomeStore(settings.database_url))
    plugin_manager().register(ActionServerMetrics(registry, settings.metrics_token))
    plugin_manager().register(ActionServerAuth(secret))
    set_capability_provider(FlagWriteCapabilities())
    # rasa-sdk binds SANIC_HOST (0.0.0.0 by default): only this machine unless told.
    os.environ["SANIC_HOST"] = os.environ.get("FRONTLINE_ACTION_HOST") or DEFAULT_HOST
    # GET /health/live, /health/ready and the handoff outbox's delivery.
    plugin_manager().register(ActionServerHealth())
    run(
        args.actions,
        args.port,
        args.cors,
        args.ssl_certificate,
        args.ssl_keyfile,
        args.ssl_password,
        args.auto_reload,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
